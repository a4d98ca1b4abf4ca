/**
 * Issue 35's sizes, widened by issue 70: every function of every source file under lib/ and of the two
 * programs (server.ts, client.ts) — declarations, function expressions, arrows, methods, getters — spans
 * at most MAX_FUNCTION_LINES, counted from the line where it starts (its name, for a method) to the line of
 * its closing brace. Functions are found on Deno's own parser (`Deno.lint.runPlugin`, available under
 * `deno test`), so braces in strings, comments, regular expressions and template literals cannot mislead
 * the count. A nested function counts inside its parent and on its own. Tests and test helpers are left out.
 *
 * Files are split by ownership, not by size (ARCHITECTURE.md rule 9): a file past WARN_FILE_LINES is
 * named on stderr as a reason to look, never a failure.
 *
 * What is still over is listed in FUNCTION_SIZE_DEBT; the list only shrinks: an entry that no longer
 * breaks the rule fails the test until it is removed.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { sourceFunctions } from "./source_functions.ts";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));

/** Lines past which a source file is named as a reason to look (a warning, not a cap). */
export const WARN_FILE_LINES = 400;
/** Most lines a function may span. */
export const MAX_FUNCTION_LINES = 80;

/** Functions still over MAX_FUNCTION_LINES, as `file:name` (see `functionSizes`); only shrinks. */
export const FUNCTION_SIZE_DEBT: string[] = [];

const isTestCode = (f: string) => /(_test|_testing|_test_util)\.ts$/.test(f);

/** The source files of lib/ and the two programs (repo-relative, sorted), without tests, helpers and testdata. */
async function sources(): Promise<{ file: string; src: string }[]> {
  const out: { file: string; src: string }[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory && e.name !== "testdata") await walk(p);
      else if (e.isFile && p.endsWith(".ts") && !isTestCode(p)) {
        // Forward slashes on every system (the debt lists name files so).
        out.push({ file: relative(ROOT, p).replaceAll("\\", "/"), src: await Deno.readTextFile(p) });
      }
    }
  };
  await walk(join(ROOT, "lib"));
  for (const f of ["server.ts", "client.ts"]) {
    out.push({ file: f, src: await Deno.readTextFile(join(ROOT, f)) });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

/** Lines of a file as `wc -l` counts them (a last line without a newline counts too). */
export function fileLines(src: string): number {
  const newlines = src.split("\n").length - 1;
  return src === "" || src.endsWith("\n") ? newlines : newlines + 1;
}

/** One function of a file: its name (see `functionSizes`), first line (1-based) and length in lines. */
export interface FunctionSize {
  name: string;
  line: number;
  lines: number;
}

/**
 * Every function of one file with its size. A function without a name of its own (a callback) is
 * named after the nearest named function around it: `receive/<anonymous>` (`<anonymous>` at top level).
 */
export function functionSizes(file: string, src: string): FunctionSize[] {
  const starts = [0];
  for (let i = src.indexOf("\n"); i >= 0; i = src.indexOf("\n", i + 1)) starts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  return sourceFunctions(file, src).map(({ name, span: [from, to] }) => {
    const line = lineOf(from);
    return { name, line, lines: lineOf(to - 1) - line + 1 };
  });
}

/** Files past the warning (`file: N lines`) and functions over the limit (`file:name: N lines (line L)`). */
export function sizeViolations(
  files: { file: string; src: string }[],
): { files: string[]; functions: string[] } {
  const out = { files: [] as string[], functions: [] as string[] };
  for (const { file, src } of files) {
    const n = fileLines(src);
    if (n > WARN_FILE_LINES) out.files.push(`${file}: ${n} lines`);
    for (const f of functionSizes(file, src)) {
      if (f.lines > MAX_FUNCTION_LINES) {
        out.functions.push(`${file}:${f.name}: ${f.lines} lines (line ${f.line})`);
      }
    }
  }
  return out;
}

const keyOf = (v: string) => v.replace(/: \d+ lines.*$/, "");

Deno.test("sizes: no function of lib/ or the programs over 80 lines (the debt list only shrinks)", async () => {
  const v = sizeViolations(await sources());
  const fns = [...new Set(v.functions.map(keyOf))];
  if (v.files.length) {
    console.error(`files past ${WARN_FILE_LINES} lines (a reason to look):\n  ${v.files.join("\n  ")}`);
  }
  assert.deepEqual(
    v.functions.filter((x) => !FUNCTION_SIZE_DEBT.includes(keyOf(x))),
    [],
    "functions over 80 lines",
  );
  assert.deepEqual(FUNCTION_SIZE_DEBT.filter((f) => !fns.includes(f)), [], "function debt paid: remove it");
});

Deno.test("sizes: functionSizes() counts on the parser (strings, comments, template literals, regexps)", () => {
  const src = [
    "const arrow = '→→→'; // not ASCII before the functions: offsets stay right",
    "export function tricky(a: string): string {",
    '  const s = "}}}"; // }',
    "  /* } { */",
    "  const t = `${a}}${'{'}`;",
    "  const re = /[{}]/g;",
    "  return s + t + String(re);",
    "}",
    "class Box {",
    "  #n = 0;",
    "  get size(): number {",
    "    return this.#n;",
    "  }",
    "  #grow(): void {",
    "    [1, 2].forEach((k) => {",
    "      this.#n += k;",
    "    });",
    "  }",
    "}",
    "const obj = { run: function () {\n  return 1;\n} };",
    "void arrow, Box, obj;",
  ].join("\n");
  assert.deepEqual(functionSizes("x.ts", src), [
    { name: "tricky", line: 2, lines: 7 },
    { name: "size", line: 11, lines: 3 },
    { name: "#grow", line: 14, lines: 5 },
    { name: "#grow/<anonymous>", line: 15, lines: 3 },
    { name: "run", line: 20, lines: 3 },
  ]);
  assert.equal(fileLines("a\nb\n"), 2);
  assert.equal(fileLines("a\nb"), 2);
  assert.equal(fileLines(""), 0);
});

Deno.test("sizes: a 401-line file is named and an 81-line function caught; 400 and 80 pass (mutations)", () => {
  const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join("\n");
  const fn = (lines: number) => `export function long(): void {\n${body(lines - 2)}\n}\n`;
  const lines = (n: number) => "// x\n".repeat(n);
  assert.deepEqual(sizeViolations([{ file: "lib/client/tui/x.ts", src: lines(400) }]).files, []);
  assert.deepEqual(sizeViolations([{ file: "lib/client/tui/x.ts", src: lines(401) }]).files, [
    "lib/client/tui/x.ts: 401 lines",
  ]);
  assert.deepEqual(sizeViolations([{ file: "lib/client/tui/x.ts", src: fn(80) }]).functions, []);
  assert.deepEqual(sizeViolations([{ file: "lib/client/tui/x.ts", src: fn(81) }]).functions, [
    "lib/client/tui/x.ts:long: 81 lines (line 1)",
  ]);
  // A method the same length, inside a class.
  const method = `class C {\n  long(): void {\n${body(79)}\n  }\n}\n`;
  assert.deepEqual(sizeViolations([{ file: "lib/client/tui/x.ts", src: method }]).functions, [
    "lib/client/tui/x.ts:long: 81 lines (line 2)",
  ]);
});
