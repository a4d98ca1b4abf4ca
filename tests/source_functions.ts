/**
 * The functions of a source file as Deno's own parser sees them (`Deno.lint.runPlugin`, available
 * under `deno test`): braces or arrows in strings, comments, regular expressions, template literals
 * and types cannot mislead it. Each with its name and where it lies. Shared by the guards that read
 * the source: sizes_test.ts (issue 35's function sizes) and hot_path_test.ts (ARCHITECTURE.md rule 9).
 */

/**
 * One function: its name (its own, its method's, its variable's or its property's; a callback is named
 * after the nearest named function around it, `receive/<anonymous>`, `<anonymous>` at top level), the
 * span its size is counted over (a method's definition, with its name) and its own node's range
 * (source offsets, end excluded).
 */
export interface SourceFunction {
  name: string;
  span: readonly [number, number];
  range: readonly [number, number];
}

type FnNode =
  | Deno.lint.FunctionDeclaration
  | Deno.lint.FunctionExpression
  | Deno.lint.ArrowFunctionExpression;

/** The name a function is known by: its own, its method's, its variable's or its property's. */
function ownName(fn: FnNode): string | null {
  if (fn.type !== "ArrowFunctionExpression" && fn.id) return fn.id.name;
  const p = fn.parent;
  const key = (k: Deno.lint.Node) =>
    k.type === "Identifier" || k.type === "PrivateIdentifier"
      ? (k.type === "PrivateIdentifier" ? `#${k.name}` : k.name)
      : k.type === "Literal"
      ? String(k.value)
      : null;
  switch (p.type) {
    case "MethodDefinition":
    case "Property":
    case "PropertyDefinition":
      return key(p.key);
    case "VariableDeclarator":
      return p.id.type === "Identifier" ? p.id.name : null;
  }
  return null;
}

/** Every function of one file, in source order (an outer one before those inside it). */
export function sourceFunctions(file: string, src: string): SourceFunction[] {
  const found: SourceFunction[] = [];
  const names = new Map<unknown, string>();
  const visit = (fn: FnNode) => {
    let name = ownName(fn);
    if (name === null) {
      // Up the tree by `parent` (the Program has none) to the nearest function already named.
      let outer = fn.parent as unknown as { parent?: unknown } | undefined;
      while (outer && !names.has(outer)) outer = outer.parent as typeof outer;
      name = `${outer ? names.get(outer) : ""}/<anonymous>`.replace(/^\//, "");
    }
    names.set(fn, name);
    // A method's function may start at its parameters; its definition (with the name) is the span.
    const span = fn.parent.type === "MethodDefinition" ? fn.parent.range : fn.range;
    found.push({ name, span, range: fn.range });
  };
  const plugin: Deno.lint.Plugin = {
    name: "functions",
    rules: {
      functions: {
        create: () => ({
          FunctionDeclaration: visit,
          FunctionExpression: visit,
          ArrowFunctionExpression: visit,
        }),
      },
    },
  };
  Deno.lint.runPlugin(plugin, file, src);
  return found;
}
