/**
 * `deno task doc`: runs `deno doc --lint` on every folder entry (each `mod.ts` under lib/), each on
 * its own (so every entry exports, documented, each type its exports name). The entries are found by walking lib/, so a new
 * mod.ts is linted without editing this file. Prints each entry's error count and exits 1 when any
 * entry has errors (or when none is found: a broken walk must not pass). Part of `deno task ok`.
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Paths of every `mod.ts` under `dir` (relative to the repository root), sorted. */
export async function findEntries(dir = "lib"): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}/${dir}`)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) found.push(...await findEntries(path));
    else if (e.isFile && e.name === "mod.ts") found.push(path);
  }
  return found.sort();
}

/** The number of lint errors `deno doc --lint` reports for one entry (a path from the root), and its output. */
export async function lintEntry(entry: string): Promise<{ errors: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", entry],
    cwd: ROOT,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "null",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(out.stderr);
  const errors = output.split("\n").filter((l) => /^error\[/.test(l)).length;
  return { errors: out.success ? errors : Math.max(1, errors), output };
}

if (import.meta.main) {
  const entries = await findEntries();
  if (entries.length === 0) {
    console.error("doc: no lib/**/mod.ts found");
    Deno.exit(1);
  }
  let failed = 0;
  for (const entry of entries) {
    const { errors, output } = await lintEntry(entry);
    if (errors > 0) {
      failed++;
      console.error(output.trimEnd());
    }
    console.log(`${entry}: ${errors === 0 ? "ok" : `${errors} error(s)`}`);
  }
  if (failed > 0) {
    console.error(`doc: ${failed} of ${entries.length} mod.ts entries fail deno doc --lint`);
    Deno.exit(1);
  }
}
