/**
 * Issue 38 item 4: install from anywhere. `deno task install` into a temp DENO_INSTALL_ROOT makes
 * the launchers `parley` and `parley-server` with exactly the release binaries' permissions; from a
 * folder outside the clone, with every proxy pointing at a closed port (no network), `parley
 * --version` answers and a register, a send-file of a relative path and a receive into a relative
 * folder work. And `deno task --config CLONE/deno.json client …` from that folder takes relative
 * paths from there (INIT_CWD), not from the clone.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { sha256Hex } from "../lib/common/bytes.ts";
import { VERSION } from "../lib/common/version.ts";
import { taskPermissions } from "../tools/compile.ts";
import { rootFile, startTestServer } from "./helpers.ts";

const ROOT = rootFile("");
const OFFLINE = { HTTP_PROXY: "http://127.0.0.1:9", HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "" };

/** The environment of this test without INIT_CWD (deno task keeps an inherited one), plus `extra`. */
function envWith(extra: Record<string, string>): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.INIT_CWD;
  return { ...env, NO_COLOR: "1", RUST_BACKTRACE: "0", ...extra };
}

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string>) {
  const o = await new Deno.Command(cmd, {
    args,
    cwd,
    env: envWith(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout).trim(), err: d.decode(o.stderr).trim() };
}

Deno.test("install: parley and parley-server run from anywhere, offline, with relative paths", async () => {
  const installRoot = await Deno.makeTempDir({ prefix: "parley-install-" });
  const work = await Deno.makeTempDir({ prefix: "parley-elsewhere-" });
  const t = await startTestServer();
  try {
    const inst = await run(Deno.execPath(), ["task", "install"], ROOT, { DENO_INSTALL_ROOT: installRoot });
    assert.equal(inst.code, 0, inst.err);
    const bin = `${installRoot}/bin`;
    for (const [name, task] of [["parley", "client"], ["parley-server", "server"]] as const) {
      const launcher = await Deno.readTextFile(`${bin}/${name}`);
      const perms = launcher.split(/\s+/).filter((w) => /^--(allow|deny)-/.test(w));
      assert.deepEqual(perms.sort(), (await taskPermissions(`${ROOT}deno.json`, task)).sort(), name);
    }
    // The launchers call `deno`: this one, first on PATH; no network.
    const env = { ...OFFLINE, PATH: `${bin}:${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}` };
    const parley = (...a: string[]) => run(`${bin}/parley`, a, work, env);
    const v = await parley("--version");
    assert.deepEqual([v.code, v.out], [0, VERSION], v.err);
    const sv = await run(`${bin}/parley-server`, ["--version"], work, env);
    assert.deepEqual([sv.code, sv.out], [0, `parley-server ${VERSION}`], sv.err);

    const server = ["--server", `127.0.0.1:${t.port}`, "--trust-on-first-use"];
    const as = (user: string, home: string) => [...server, "--user", user, "--home", home];
    for (const [u, h] of [["alice", "./home-a"], ["bob", "./home-b"]] as const) {
      const r = await run(`${bin}/parley`, ["register", ...as(u, h)], work, {
        ...env,
        PARLEY_PASSWORD: `pw-${u}-1`,
      });
      assert.equal(r.code, 0, r.err);
    }
    await Deno.stat(`${work}/home-a`); // the relative --home is in the user's folder
    await Deno.writeTextFile(`${work}/note.txt`, "hello from elsewhere\n");
    const sum = await sha256Hex("hello from elsewhere\n");
    const sent = await run(
      `${bin}/parley`,
      ["send-file", "bob", "./note.txt", ...as("alice", "./home-a")],
      work,
      {
        ...env,
        PARLEY_PASSWORD: "pw-alice-1",
      },
    );
    assert.equal(sent.out, `sent note.txt 21 ${sum}`, sent.err);
    const got = await run(
      `${bin}/parley`,
      ["receive", "--from", "alice", "--out", "./down", ...as("bob", "./home-b")],
      work,
      { ...env, PARLEY_PASSWORD: "pw-bob-1" },
    );
    assert.equal(got.code, 0, got.err);
    assert.equal(await Deno.readTextFile(`${work}/down/note.txt`), "hello from elsewhere\n");

    // deno task from the same folder: the task runs in the clone, the paths stay the user's.
    await Deno.writeTextFile(`${work}/two.txt`, "second\n");
    const viaTask = await run(
      Deno.execPath(),
      [
        "task",
        "--config",
        `${ROOT}deno.json`,
        "client",
        "send-file",
        "bob",
        "./two.txt",
        ...as("alice", "./home-a"),
      ],
      work,
      { ...env, PARLEY_PASSWORD: "pw-alice-1" },
    );
    assert.equal(viaTask.code, 0, viaTask.err);
    assert.match(viaTask.out, /^sent two\.txt 7 [0-9a-f]{64}$/m, viaTask.err);
  } finally {
    await t.stop();
    await Deno.remove(installRoot, { recursive: true }).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
