/**
 * `--help` and `--version`: every scripted client subcommand answers `--help` with exit 0 and an
 * "Examples:" section (checked in-process through runCli, and once through a real client.ts);
 * server.ts `--help` and `--version`; one version everywhere (lib/common/version.ts, deno.json).
 */
import assert from "node:assert/strict";
import { runCli } from "../lib/client/cli/main.ts";
import { VERSION } from "../lib/common/version.ts";
import { runProgram, spawnServerProcess } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url);

/** The scripted commands of the fixed contract (lib/client/cli/main.ts, lib/client/cli/video.ts). */
const COMMANDS = [
  ["register"],
  ["login"],
  ["logout"],
  ["passwd"],
  ["send"],
  ["read"],
  ["search"],
  ["who"],
  ["status"],
  ["export"],
  ["outbox"],
  ["outbox", "drop"],
  ["edit"],
  ["delete"],
  ["react"],
  ["edits"],
  ["expire"],
  ["watch-together"],
  ["room"],
  ["room", "create"],
  ["room", "invite"],
  ["room", "leave"],
  ["room", "kick"],
  ["room", "list"],
  ["admin"],
  ["admin", "kick"],
  ["admin", "kicked"],
  ["admin", "invite"],
  ["admin", "grant"],
  ["admin", "revoke"],
  ["fingerprint"],
  ["verify"],
  ["trust"],
  ["block"],
  ["unblock"],
  ["blocked"],
  ["videos"],
  ["play"],
  ["stream"],
  ["watch"],
  ["device"],
  ["device", "link"],
  ["device", "add"],
  ["device", "list"],
  ["device", "remove"],
  ["keys"],
  ["keys", "reset"],
  ["files"],
  ["send-file"],
  ["receive"],
  ["peer"],
  ["irc"],
];

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    env: { get: () => undefined },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    prompts: {},
    version: VERSION,
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function run(file: string, args: string[]) {
  const r = await runProgram(file, args);
  return { code: r.code, out: r.out.trim(), err: r.err.trim() };
}

Deno.test("runCli(): every subcommand's --help exits 0 and shows examples", async () => {
  for (const c of COMMANDS) {
    const r = await cli([...c, "--help"]);
    assert.equal(r.code, 0, `${c.join(" ")}: ${r.err}`);
    assert.match(r.out, /^Usage: parley /m, c.join(" "));
    assert.match(r.out, /\nExamples:\n {2}\S/, `${c.join(" ")} --help has no examples`);
  }
});

Deno.test("runCli(): the top-level help lists exactly the known commands", async () => {
  const r = await cli(["--help"]);
  assert.equal(r.code, 0);
  const section = r.out.split(/\nCommands:\n/)[1] ?? "";
  const listed = [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((n) =>
    n !== "help"
  );
  const top = [...new Set(COMMANDS.map((c) => c[0]!))];
  assert.deepEqual(listed.sort(), top.sort());
});

Deno.test("client.ts prints its version and a subcommand's help", async () => {
  const v = await run("client.ts", ["--version"]);
  assert.equal(v.code, 0, v.err);
  assert.equal(v.out, VERSION);
  const h = await run("client.ts", ["room", "invite", "--help"]);
  assert.equal(h.code, 0, h.err);
  assert.match(h.out, /Examples:\n {2}parley room invite /);
});

Deno.test("server.ts prints --help with examples and --version", async () => {
  const h = await run("server.ts", ["--help"]);
  assert.equal(h.code, 0, h.err);
  assert.match(h.out, new RegExp(`^Parley server ${VERSION.replaceAll(".", "\\.")}\n`));
  assert.match(h.out, /\nExamples:\n {2}parley-server /);
  const v = await run("server.ts", ["--version"]);
  assert.equal(v.code, 0, v.err);
  assert.equal(v.out, `parley-server ${VERSION}`);
});

// Issue 33: a new server flag is documented in README's option table (--store and --bus have their own section).
Deno.test("every option of server.ts --help has a row in README's server option table", async () => {
  const h = await run("server.ts", ["--help"]);
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const flags = [...h.out.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]!);
  assert.ok(flags.includes("--registration") && flags.includes("--min-free"), flags.join(" "));
  const missing = flags.filter((f) => !["--store", "--bus"].includes(f) && !readme.includes(`| \`${f}`));
  assert.deepEqual(missing, []);
});

Deno.test("one version: lib/common/version.ts matches deno.json", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as { version: string };
  assert.equal(cfg.version, VERSION);
  assert.match(VERSION, /^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/);
});

Deno.test("server.ts says after 'listening' how a user connects (issue 34.16)", async () => {
  const dir = await Deno.makeTempDir();
  const s = await spawnServerProcess(dir);
  try {
    const lines = s.banner.split("\n");
    const i = lines.findIndex((l) => l.startsWith("Parley listening on "));
    assert.ok(i >= 0, s.banner);
    assert.equal(
      lines[i + 1],
      `Connect: parley --server 127.0.0.1:${s.port} --user NAME (check the fingerprint above when it asks)`,
    );
  } finally {
    await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the Quick start's server command is quiet on a first run (no node_modules yet; issue 34.16)", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const quick = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("## Install"));
  const line = quick.split("\n").find((l) => /^deno task .*server/.test(l));
  assert.ok(line, "the Quick start has a `deno task … server` line");
  const cfg = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    tasks: Record<string, string>;
  };
  for (const t of ["server", "client"]) assert.match(cfg.tasks[t]!, /^deno run --quiet /, `task ${t}`);
  // A copy of the project without node_modules: what a fresh clone sees (packages are in Deno's cache).
  const dir = await Deno.makeTempDir();
  try {
    for (const f of ["deno.json", "deno.lock", "server.ts", "client.ts"]) {
      await Deno.copyFile(new URL(f, ROOT), `${dir}/${f}`);
    }
    await new Deno.Command("cp", { args: ["-r", decodeURIComponent(new URL("lib", ROOT).pathname), dir] })
      .output();
    const args = line.replace(/#.*/, "").trim().split(/\s+/).slice(1);
    const r = await new Deno.Command(Deno.execPath(), {
      args: [...args, "--help"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.ok(r.success, err);
    assert.match(new TextDecoder().decode(r.stdout), /^Parley server /);
    assert.equal(err, "", "nothing but the program's own output");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
