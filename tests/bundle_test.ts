/**
 * The single-file bundles work on their own: tools/bundle.ts builds them into a temporary folder,
 * the two bundles alone are copied to a folder with no node_modules and no deno.json, the bundled
 * server starts there (hashing passwords in-thread: its worker module is not beside it), and the
 * bundled client registers alice and bob and exchanges an end-to-end encrypted message. SIGTERM
 * then stops the server with exit code 0.
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url);
const PERMS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run"];
const dec = new TextDecoder();

async function run(args: string[], o: { cwd?: string | URL; env?: Record<string, string> } = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: o.cwd,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...o.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, out: dec.decode(out.stdout).trim(), err: dec.decode(out.stderr).trim() };
}

/** Reads stdout lines until one matches `re` (or the stream ends, or `ms` pass). */
async function waitForLine(r: ReadableStreamDefaultReader<string>, re: RegExp, ms: number): Promise<string> {
  let buf = "";
  let t: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`no line matching ${re} within ${ms} ms: ${buf}`)), ms);
  });
  const read = (async () => {
    for (;;) {
      const { value, done } = await r.read();
      if (done) throw new Error(`server output ended before ${re}: ${buf}`);
      buf += value;
      const line = buf.split("\n").find((l) => re.test(l));
      if (line) return line;
    }
  })();
  try {
    return await Promise.race([read, timer]);
  } finally {
    clearTimeout(t);
  }
}

Deno.test({
  name: "bundles: the bundled server and client exchange a message from a bare folder",
  sanitizeResources: true,
  sanitizeOps: true,
  fn: async () => {
    const build = await Deno.makeTempDir({ prefix: "parley-bundle-" });
    const work = await Deno.makeTempDir({ prefix: "parley-bare-" });
    try {
      const b = await run([
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        "tools/bundle.ts",
        "--out",
        build,
      ], { cwd: ROOT });
      assert.equal(b.code, 0, b.err);
      for (const f of ["parley-server.js", "parley.js"]) await Deno.copyFile(`${build}/${f}`, `${work}/${f}`);
      for (const d of ["data", "videos", "home"]) await Deno.mkdir(`${work}/${d}`);

      const srv = new Deno.Command(Deno.execPath(), {
        args: ["run", ...PERMS, "parley-server.js", "--port", "0", "--data", "data", "--videos", "videos"],
        cwd: work,
        env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(srv.stderr).text();
      const reader = srv.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let exited = false;
      try {
        const line = await waitForLine(reader, /^Parley listening on /, 20_000);
        const m = /^Parley listening on ([\d.]+):(\d+) \(TLS\) fingerprint (SHA256:[0-9A-F:]+)$/.exec(line);
        assert.ok(m, line);
        const client = (user: string, ...args: string[]) =>
          run(["run", ...PERMS, "parley.js", ...args, "--user", user, "--trust-on-first-use"], {
            cwd: work,
            env: {
              PARLEY_HOME: `${work}/home`,
              PARLEY_SERVER: `${m[1]}:${m[2]}`,
              PARLEY_PASSWORD: `pw-${user}-bundle-test`,
            },
          });

        for (const u of ["alice", "bob"]) {
          const r = await client(u, "register");
          assert.equal(r.code, 0, r.err);
          assert.equal(r.out, `Registered ${u} on ${m[1]}:${m[2]}`);
        }
        const sent = await client("alice", "send", "bob", "hello", "from", "a", "bundle");
        assert.equal(sent.code, 0, sent.err);
        assert.match(sent.out, /^Sent to bob at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const read = await client("bob", "read");
        assert.equal(read.code, 0, read.err);
        assert.match(read.out, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ alice -> bob: hello from a bundle$/);
        const again = await client("bob", "read");
        assert.equal(again.out, "", "messages are acknowledged once read");

        srv.kill("SIGTERM");
        const st = await srv.status;
        exited = true;
        assert.equal(st.code, 0, await stderr);
      } finally {
        if (!exited) {
          srv.kill("SIGKILL");
          await srv.status;
        }
        await reader.cancel().catch(() => {});
        await stderr;
      }
    } finally {
      await Deno.remove(build, { recursive: true });
      await Deno.remove(work, { recursive: true });
    }
  },
});
