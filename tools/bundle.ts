/**
 * Single-file bundles: `deno run … tools/bundle.ts [--out DIR]` (default dist/) runs
 * `deno bundle --platform=deno` on server.ts → parley-server.js and client.ts → parley.js, each
 * runnable with `deno run <permissions> FILE` from a folder without node_modules or deno.json.
 *
 * Two known gaps of `deno bundle` are handled here:
 * - The password-hashing worker (`new Worker(new URL("./password_worker.ts", import.meta.url))`)
 *   is not followed: the server bundle alone hashes in-thread (PasswordHasher falls back when the
 *   worker module is missing). The worker is bundled too, as `password_worker.ts` beside the
 *   server bundle (JavaScript, which is valid TypeScript); keep it there to hash off-thread. The
 *   client's JPEG decoding worker (lib/media/decode_worker.ts) is handled the same way, as
 *   `decode_worker.ts` beside the client bundle (without it the client decodes in-thread).
 * - Packages in BUNDLE_EXTERNAL cannot be bundled (node-emoji's emojilib loads JSON with
 *   extension-less `require("./emojis")`, which `deno bundle` 2.9.6 cannot resolve): they stay
 *   imports, rewritten from the bare name to the `npm:` specifier of deno.json, so Deno fetches
 *   them from npm on first run.
 * Any other bare import left in a bundle fails the build.
 */

/** Packages left out of the bundles, and why (see the module comment). */
export const BUNDLE_EXTERNAL = ["node-emoji"];

export interface BundleJob {
  entry: string;
  out: string;
  external: string[];
}

export function bundleJobs(outDir: string): BundleJob[] {
  return [
    { entry: "server.ts", out: `${outDir}/parley-server.js`, external: [] },
    { entry: "client.ts", out: `${outDir}/parley.js`, external: BUNDLE_EXTERNAL },
    { entry: "lib/crypto/password_worker.ts", out: `${outDir}/password_worker.ts`, external: [] },
    { entry: "lib/media/decode_worker.ts", out: `${outDir}/decode_worker.ts`, external: [] },
  ];
}

export function bundleArgs(job: BundleJob): string[] {
  return [
    "bundle",
    "--platform=deno",
    ...job.external.flatMap((e) => ["--external", e]),
    "-o",
    job.out,
    job.entry,
  ];
}

/** `from "x"`, `import "x"`, `import("x")` after a statement boundary (not inside a string). */
const IMPORT_SPEC = /(^|[;\s{}])(from\s*|import\s*\(?\s*)"([^"\s,]+)"/gm; // a specifier has no blanks or commas

/** Rewrites `from "name"` / `import("name")` of the given bare names to their mapped specifiers. */
export function rewriteImports(code: string, map: Record<string, string>): string {
  return code.replace(IMPORT_SPEC, (all, pre: string, head: string, spec: string) => {
    const to = map[spec];
    return to === undefined ? all : `${pre}${head}"${to}"`;
  });
}

/** Import specifiers that will not resolve without an import map (not node:, npm:, jsr:, URLs, paths). */
export function bareImports(code: string): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(IMPORT_SPEC)) {
    const s = m[3]!;
    if (!/^(node:|npm:|jsr:|https?:|data:|file:|\.{0,2}\/)/.test(s)) found.add(s);
  }
  return [...found];
}

/** The `npm:` specifiers of deno.json's import map for the given names. */
export function externalMap(imports: Record<string, string>, names: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const n of names) {
    const spec = imports[n];
    if (!spec) throw new Error(`deno.json maps no import named "${n}"`);
    map[n] = spec;
  }
  return map;
}

export function parseBundleArgs(argv: string[]): { outDir: string } {
  let outDir = "dist";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") continue;
    if (a === "--out") outDir = argv[++i] ?? "";
    else if (a.startsWith("--out=")) outDir = a.slice(6);
    else throw new Error(`Unknown argument "${a}"; usage: tools/bundle.ts [--out DIR]`);
    if (!outDir) throw new Error("--out needs a folder");
  }
  return { outDir: outDir.replace(/\/+$/, "") };
}

async function bundleOne(job: BundleJob, imports: Record<string, string>): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: bundleArgs(job),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).output();
  if (!r.success) {
    throw new Error(`deno bundle ${job.entry} failed:\n${new TextDecoder().decode(r.stderr).trim()}`);
  }
  let code = await Deno.readTextFile(job.out);
  if (job.external.length) {
    code = rewriteImports(code, externalMap(imports, job.external));
    await Deno.writeTextFile(job.out, code);
  }
  const bare = bareImports(code);
  if (bare.length) throw new Error(`${job.out} still imports ${bare.join(", ")}, which will not resolve`);
  const size = (await Deno.stat(job.out)).size;
  console.error(`Wrote ${job.out} (${Math.round(size / 1024)} KB)`);
}

async function main(argv: string[]): Promise<number> {
  const { outDir } = parseBundleArgs(argv);
  await Deno.mkdir(outDir, { recursive: true });
  const cfg = JSON.parse(await Deno.readTextFile("deno.json")) as { imports?: Record<string, string> };
  for (const job of bundleJobs(outDir)) await bundleOne(job, cfg.imports ?? {});
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`bundle: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
