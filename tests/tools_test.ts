/**
 * Release tools: tools/compile.ts argument parsing, compile command line, the one-sentence
 * explanation of an offline (or DENORT_BIN) failure, checksums; tools/bundle.ts import rewriting;
 * and one real run of the compile task with DENORT_BIN pointing at nothing (no download attempted);
 * tools/doc_lint.ts (`deno task doc`, part of `deno task ok`): which entries it lints, and its count.
 */
import assert from "node:assert/strict";
import {
  checksumLines,
  compileArgs,
  explainCompileFailure,
  isReleaseFile,
  outputPath,
  parseCompileArgs,
  permissionFlags,
  sha256Hex,
  TARGETS,
  UsageError,
  writeChecksums,
} from "../tools/compile.ts";
import { bareImports, bundleJobs, externalMap, parseBundleArgs, rewriteImports } from "../tools/bundle.ts";
import { findEntries, lintEntry } from "../tools/doc_lint.ts";

const HOST = "x86_64-unknown-linux-gnu";
const ROOT = new URL("..", import.meta.url);

Deno.test("parseCompileArgs() defaults to this machine's target", () => {
  assert.deepEqual(parseCompileArgs(["server"], HOST), {
    mode: "compile",
    program: "server",
    targets: [HOST],
  });
});

Deno.test("parseCompileArgs() takes repeated --target, --target=, --all and skips a passed-through --", () => {
  assert.deepEqual(
    parseCompileArgs(
      ["client", "--", "--target", "aarch64-apple-darwin", "--target=x86_64-pc-windows-msvc"],
      HOST,
    ),
    { mode: "compile", program: "client", targets: ["aarch64-apple-darwin", "x86_64-pc-windows-msvc"] },
  );
  assert.deepEqual(parseCompileArgs(["--all", "server"], HOST), {
    mode: "compile",
    program: "server",
    targets: [...TARGETS],
  });
  assert.deepEqual(parseCompileArgs(["sums"], HOST), { mode: "sums" });
  assert.deepEqual(parseCompileArgs(["server", "--help"], HOST), { mode: "help" });
});

Deno.test("parseCompileArgs() rejects mistakes with a UsageError", () => {
  const bad: [string[], RegExp][] = [
    [[], /server or client/],
    [["desktop"], /server or client, not "desktop"/],
    [["server", "--target", "riscv64-linux"], /Unknown target "riscv64-linux"/],
    [["server", "--target"], /needs a value/],
    [["server", "--all", "--target", HOST], /either --all or --target/],
    [["server", "client"], /Unexpected argument "client"/],
    [["server", "--fast"], /Unknown option "--fast"/],
    [["sums", "--all"], /no targets/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(() => parseCompileArgs(argv, HOST), (e) => e instanceof UsageError && re.test(e.message));
  }
  assert.throws(() => parseCompileArgs(["server"], "riscv64gc-unknown-linux-gnu"), /not a release target/);
});

Deno.test("permissionFlags() keeps the permission flags of a deno.json task", async () => {
  assert.deepEqual(permissionFlags("deno run --allow-net --allow-read=./data --allow-env server.ts"), [
    "--allow-net",
    "--allow-read=./data",
    "--allow-env",
  ]);
  const cfg = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    tasks: Record<string, string>;
  };
  for (const t of ["server", "client"]) {
    const flags = permissionFlags(cfg.tasks[t]!);
    assert.ok(flags.length > 0 && !flags.includes("-A") && !flags.includes("--allow-all"), t);
  }
});

Deno.test("compileArgs() bakes in permissions, includes the worker and sample, names the output", () => {
  const a = compileArgs("server", "x86_64-pc-windows-msvc", ["--allow-net"], ["nm/ffmpeg"]);
  assert.deepEqual(a, [
    "compile",
    "--allow-net",
    "--include",
    "lib/crypto/password_worker.ts",
    "--include",
    "videos/sample.mp4",
    "--exclude",
    "nm/ffmpeg",
    "--target",
    "x86_64-pc-windows-msvc",
    "--output",
    "dist/parley-server-x86_64-pc-windows-msvc.exe",
    "server.ts",
  ]);
  assert.equal(outputPath("client", "aarch64-apple-darwin"), "dist/parley-aarch64-apple-darwin");
});

// What deno 2.9.6 printed here, offline (colours on, as a terminal would show them).
const OFFLINE =
  "\x1b[0m\x1b[32mDownload\x1b[0m https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip\n" +
  "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Writing deno compile executable to temporary file 'dist/x.tmp-1'\n\n" +
  "Caused by:\n    0: Setting up base binary.\n    1: error sending request for url " +
  "(https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: " +
  "failed to lookup address information: Name or service not known\n";

Deno.test("explainCompileFailure() turns the offline download error into one sentence", () => {
  const s = explainCompileFailure(OFFLINE, "aarch64-apple-darwin");
  assert.equal(
    s,
    "deno compile could not download its runtime (denort) for aarch64-apple-darwin: compiling needs internet " +
      "access once (Deno then caches the runtime) or DENORT_BIN pointing at a denort binary for aarch64-apple-darwin.",
  );
  assert.doesNotMatch(s!, /\n/);
});

Deno.test("explainCompileFailure() names a missing or wrong DENORT_BIN, and ignores other errors", () => {
  const missing =
    "error: Writing deno compile executable\n\nCaused by:\n    0: Could not find denort at '/x/denort'\n";
  assert.match(
    explainCompileFailure(missing, HOST, "/x/denort")!,
    /DENORT_BIN points at \/x\/denort, which does not exist/,
  );
  const wrong =
    "error: Writing deno compile executable\n\nCaused by:\n    0: Writing binary bytes\n    1: Invalid object: Not an ELF file\n";
  assert.match(
    explainCompileFailure(wrong, HOST, "/x/junk")!,
    /DENORT_BIN \(\/x\/junk\) is not a denort runtime/,
  );
  assert.equal(explainCompileFailure('error: Module not found "file:///w/nope.ts"', HOST), null);
});

Deno.test("checksums: sha256sum lines over release executables only", async () => {
  assert.equal(
    await sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(checksumLines([{ name: "b", hex: "02" }, { name: "a", hex: "01" }]), "01  a\n02  b\n");
  assert.ok(isReleaseFile("parley-server-x86_64-pc-windows-msvc.exe"));
  assert.ok(isReleaseFile("parley-aarch64-apple-darwin"));
  for (
    const n of ["parley.js", "parley-server.js", "SHA256SUMS", "parley-x86_64-apple-darwin.exe", "parley-foo"]
  ) {
    assert.ok(!isReleaseFile(n), n);
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/parley-x86_64-unknown-linux-gnu`, "abc");
    await Deno.writeTextFile(`${dir}/parley.js`, "not listed");
    assert.equal(await writeChecksums(dir), 1);
    assert.equal(
      await Deno.readTextFile(`${dir}/SHA256SUMS`),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  parley-x86_64-unknown-linux-gnu\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bundle tool: jobs, --out, rewriting bare imports to npm: specifiers", () => {
  assert.deepEqual(parseBundleArgs(["--", "--out", "/tmp/b/"]), { outDir: "/tmp/b" });
  assert.deepEqual(bundleJobs("d").map((j) => j.out), [
    "d/parley-server.js",
    "d/parley.js",
    "d/password_worker.ts",
    "d/decode_worker.ts",
  ]);
  const code =
    'import * as e from "node-emoji";\nconst s = `add \'import "reflect-metadata"\' first`;\nimport "node:fs";\n';
  assert.deepEqual(bareImports(code), ["node-emoji"]);
  const out = rewriteImports(code, externalMap({ "node-emoji": "npm:node-emoji@2.2.0" }, ["node-emoji"]));
  assert.match(out, /from "npm:node-emoji@2\.2\.0"/);
  assert.deepEqual(bareImports(out), []);
  assert.throws(() => externalMap({}, ["left-pad"]), /no import named "left-pad"/);
});

Deno.test("deno task compile:server fails with one sentence when DENORT_BIN points at nothing", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "compile:server", "--", "--target", "aarch64-unknown-linux-gnu"],
    cwd: ROOT,
    env: { DENORT_BIN: "/nonexistent/denort", NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 1, err);
  const last = err.trim().split("\n").at(-1)!;
  assert.equal(
    last,
    "deno compile failed: DENORT_BIN points at /nonexistent/denort, which does not exist; compiling needs " +
      "internet access once (Deno then caches the runtime) or DENORT_BIN pointing at a denort binary for " +
      "aarch64-unknown-linux-gnu.",
  );
});

Deno.test("doc task: every lib/**/mod.ts is an entry, and deno task ok runs it before the tests", async () => {
  const entries = await findEntries();
  for (const e of ["lib/media/mod.ts", "lib/client/tui/mod.ts"]) {
    assert.ok(entries.includes(e), entries.join());
  }
  assert.ok(entries.every((e) => e.startsWith("lib/") && e.endsWith("/mod.ts")), entries.join());
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks;
  assert.match(tasks.doc, /tools\/doc_lint\.ts/);
  const ok: string = tasks.ok;
  assert.ok(ok.includes("deno task doc") && ok.indexOf("deno task doc") < ok.indexOf("deno task test"), ok);
});

Deno.test("ok:quick: the checks of ok, then the unit tests beside the code (lib/), none of tests/", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks;
  const steps = (tasks["ok:quick"] as string).split("&&").map((s) => s.trim());
  assert.deepEqual(steps.slice(0, 4), ["deno fmt --check", "deno lint", "deno task check", "deno task doc"]);
  // The unit tests, after the type check (so unchecked), with the test task's own parallelism.
  assert.deepEqual(steps.slice(4), ["deno task test --no-check lib/"]);
});

Deno.test("test task: three test files at a time (--parallel), with the permissions tests need", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks;
  assert.match(tasks.test, /^DENO_JOBS=3 deno test --parallel --allow-net /);
  assert.match(tasks.ok, /deno task test$/);
});

Deno.test("doc task: lintEntry() counts an undocumented export, and none once it is documented", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/mod.ts`, "export const X: number = 1;\n");
    assert.equal((await lintEntry(`${dir}/mod.ts`)).errors, 1);
    await Deno.writeTextFile(`${dir}/mod.ts`, "/** The answer. */\nexport const X: number = 1;\n");
    assert.equal((await lintEntry(`${dir}/mod.ts`)).errors, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
