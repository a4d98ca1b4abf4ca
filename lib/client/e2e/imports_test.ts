/**
 * How tangled e2e/ is (issue 70 point 3): the import and export-from statements of its non-test files
 * whose specifier is another e2e/ file. It was 115 over 28 files sharing one bag of state; the jobs now
 * split along what they own (dm_seal.ts, room_seal.ts, controls.ts, apply.ts). The figure may only shrink.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** The most such statements e2e/ may hold. */
const E2E_INTERNAL_IMPORTS_MAX = 46;

/** The e2e-internal import and export-from statements of `src`, by specifier. */
function internalImports(src: string): string[] {
  return [...src.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.\/[^"]+)"/gms)].map((m) => m[1]!);
}

Deno.test("e2e: imports between its own files stay few (issue 70 point 3)", async () => {
  const dir = fileURLToPath(new URL(".", import.meta.url));
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".ts") || e.name.endsWith("_test.ts")) continue;
    n += internalImports(await Deno.readTextFile(`${dir}/${e.name}`)).length;
  }
  assert.ok(
    n <= E2E_INTERNAL_IMPORTS_MAX,
    `${n} imports between e2e/ files (at most ${E2E_INTERNAL_IMPORTS_MAX})`,
  );
  assert.deepEqual(
    internalImports(
      'import type { A } from "./a.ts";\nexport {\n  b,\n} from "./b.ts";\nimport x from "../c.ts";',
    ),
    ["./a.ts", "./b.ts"],
  );
});
