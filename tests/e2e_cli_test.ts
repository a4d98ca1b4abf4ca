/**
 * End to end: spawns the real `server.ts` and drives the scripted `client.ts` as a user would.
 * Also: kill -9 between store and ack loses nothing acknowledged; SIGTERM tells clients and
 * exits 0; a changed server certificate is refused naming both fingerprints.
 */
import assert from "node:assert/strict";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { Connection } from "../lib/client/session/connection.ts";
import { attachE2e } from "../lib/client/start/e2e_attach.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { serverKey } from "../lib/client/session/trust.ts";
import { runProgram, testArgon, testKdf } from "./helpers.ts";
import { accountSecrets, checkAccountKdf } from "../lib/crypto/account_kdf.ts";
import { test } from "./deadline.ts";

const PERMS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run"];
const ROOT = new URL("..", import.meta.url).pathname;

interface Spawned {
  child: Deno.ChildProcess;
  port: number;
  fingerprint: string;
  stderr: () => string;
}

async function spawnServer(data: string, port = 0, extra: string[] = []): Promise<Spawned> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PERMS,
      `${ROOT}server.ts`,
      "--port",
      String(port),
      "--data",
      data,
      "--videos",
      `${data}/no-videos`,
      "--msg-rate",
      "0",
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  let err = "";
  (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) err += c;
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = Date.now() + 15_000;
  while (!out.includes("\n")) {
    // A real deadline: a read that never returns cannot hold the test past it.
    const left = deadline - Date.now();
    let id: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => (id = setTimeout(() => r("late"), Math.max(0, left))));
    const r = await Promise.race([reader.read(), late]);
    clearTimeout(id);
    if (r === "late") throw new Error(`server did not start: ${err}`);
    if (r.done) throw new Error(`server exited: ${err}`);
    out += r.value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const m = out.match(/^Parley listening on 127\.0\.0\.1:(\d+) \(TLS\) fingerprint (SHA256:[0-9A-F:]{95})$/m);
  assert.ok(m, `listening line: ${out}`);
  return { child, port: Number(m[1]), fingerprint: m[2]!, stderr: () => err };
}

async function cli(home: string, port: number, args: string[], password = "pw-secret-123") {
  const r = await runProgram("client.ts", args, {
    PARLEY_SERVER: `127.0.0.1:${port}`,
    PARLEY_HOME: home,
    PARLEY_PASSWORD: password,
  });
  return { code: r.code, out: r.out.trimEnd(), err: r.err.trimEnd() };
}

async function stop(s: Spawned, signal: Deno.Signal = "SIGTERM"): Promise<number> {
  try {
    s.child.kill(signal);
  } catch { /* gone */ }
  return (await s.child.status).code;
}

// A long walk of ~30 client processes, one after another: its deadline is for a hang, on a busy machine too.
test("e2e: users register, chat, use rooms and moderation through the scripted client", {
  deadlineMs: 300_000,
}, async () => {
  const data = await Deno.makeTempDir();
  const [ha, hb, hc] = await Promise.all([Deno.makeTempDir(), Deno.makeTempDir(), Deno.makeTempDir()]);
  const s = await spawnServer(data);
  try {
    const first = await cli(ha, s.port, ["register", "--user", "alice"]);
    assert.equal(first.code, 1);
    assert.match(
      first.err,
      /not known yet \(fingerprint SHA256:.*\); run again with --trust-on-first-use or --fingerprint/,
    );
    assert.equal(
      (await cli(ha, s.port, ["register", "--user", "alice", "--fingerprint", s.fingerprint.toLowerCase()]))
        .code,
      0,
    );
    const bob = await cli(hb, s.port, ["register", "--trust-on-first-use", "--user", "bob"]);
    assert.deepEqual([bob.code, bob.out], [0, `Registered bob on 127.0.0.1:${s.port}`]);
    assert.equal((await cli(hc, s.port, ["register", "--user", "carol", "--trust-on-first-use"])).code, 0);
    assert.equal((await cli(hb, s.port, ["login", "--user", "bob"])).code, 0);
    const bad = await cli(hb, s.port, ["login", "--user", "bob"], "wrong-password");
    assert.deepEqual([bad.code, bad.err], [1, "parley: Wrong user name or password"]);

    const sent = await cli(ha, s.port, ["send", "--user", "alice", "bob", "hello", "bob"]);
    assert.match(sent.out, /^Sent to bob at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await cli(ha, s.port, ["send", "--user", "alice", "--broadcast", "hi all"]);
    const read = await cli(hb, s.port, ["read", "--user", "bob"]);
    assert.equal(read.code, 0);
    const lines = read.out.split("\n");
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ alice -> bob: hello bob$/);
    assert.match(lines[1]!, /alice -> \*: hi all$/);
    const again = await cli(hb, s.port, ["read", "--user", "bob"]);
    assert.deepEqual([again.code, again.out, again.err], [0, "", "No new messages"]);
    const since = await cli(hb, s.port, [
      "read",
      "--user",
      "bob",
      "--from",
      "alice",
      "--since",
      "2020-01-01T00:00:00Z",
      "--json",
    ]);
    const js = JSON.parse(since.out);
    assert.deepEqual(js.map((m: { text: string }) => m.text), ["hello bob"]);

    const room = await cli(ha, s.port, ["room", "create", "--user", "alice", "dev", "bob", "carol"]);
    assert.equal(room.out, "Created #dev with alice, bob, carol");
    await cli(hc, s.port, ["send", "--user", "carol", "#dev", "build", "is", "green"]);
    const rr = await cli(hb, s.port, ["read", "--user", "bob", "--room", "dev"]);
    assert.match(rr.out, /carol -> #dev: build is green$/);
    // A typo in --room or --from is said so, not "No new messages".
    const typo = await cli(hb, s.port, ["read", "--user", "bob", "--room", "deb"]);
    assert.deepEqual([typo.code, typo.err], [1, "parley: There is no room named #deb"]);
    const ghostly = await cli(hb, s.port, ["read", "--user", "bob", "--from", "ghost"]);
    assert.deepEqual([ghostly.code, ghostly.err], [1, "parley: There is no user named ghost"]);
    // So is one in a send or a leave (the client lists only its own rooms; the server says which it is).
    const typoSend = await cli(hb, s.port, ["send", "--user", "bob", "#deb", "hi"]);
    assert.deepEqual([typoSend.code, typoSend.err], [1, "parley: There is no room named #deb"]);
    const typoLeave = await cli(hb, s.port, ["room", "leave", "--user", "bob", "deb"]);
    assert.deepEqual([typoLeave.code, typoLeave.err], [1, "parley: There is no room named #deb"]);
    await cli(ha, s.port, ["room", "create", "--user", "alice", "ops", "carol"]);
    const notMine = await cli(hb, s.port, ["send", "--user", "bob", "#ops", "hi"]);
    assert.deepEqual([notMine.code, notMine.err], [1, "parley: You are not a member of #ops"]);
    const none = await cli(hb, s.port, ["read", "--user", "bob", "--from", "carol"]);
    assert.deepEqual([none.code, none.err], [0, "No new messages"]);
    assert.match((await cli(hb, s.port, ["room", "list", "--user", "bob"])).out, /^#dev: @alice bob carol$/);
    const who = JSON.parse((await cli(ha, s.port, ["who", "--user", "alice", "--json"])).out);
    // One-shot commands are not "online" (issue 34.14): not even the asking one is listed.
    assert.deepEqual(who.map((p: { user: string }) => p.user), []);
    assert.equal((await cli(hb, s.port, ["status", "--user", "bob", "busy"])).out, "Status: busy");

    const denied = await cli(hb, s.port, ["admin", "kick", "--user", "bob", "carol"]);
    assert.deepEqual([denied.code, denied.err], [1, "parley: Only admins can do that"]);
    const grant = await runProgram("server.ts", ["admin", "grant", "alice", "--data", data]);
    assert.equal(grant.out.trim(), "alice is now an admin");
    assert.equal(
      (await cli(ha, s.port, ["admin", "kick", "--user", "alice", "carol", "--ban", "60"])).out,
      "Banned carol for 60 s",
    );
    const banned = await cli(hc, s.port, ["login", "--user", "carol"]);
    assert.match(
      banned.err,
      /^parley: You are banned until (?:\d{1,2} \w{3} \d{4} )?\d\d:\d\d \(in (1 min|\d+ s)\)/,
    );
    assert.match(
      (await cli(ha, s.port, ["admin", "kicked", "--user", "alice"])).out,
      /carol by alice banned until/,
    );
    assert.equal(
      (await cli(ha, s.port, ["admin", "grant", "--user", "alice", "bob"])).out,
      "bob is now an admin",
    );
    assert.equal(
      (await cli(ha, s.port, ["admin", "revoke", "--user", "alice", "bob"])).out,
      "bob is no longer an admin",
    );
    const unknown = await cli(ha, s.port, ["send", "--user", "alice", "ghost", "boo"]);
    assert.deepEqual([unknown.code, unknown.err], [1, "parley: There is no user named ghost"]);
    assert.equal(await stop(s), 0);
    assert.ok(!s.stderr().includes("hello bob"), "bodies never logged");
  } finally {
    await stop(s).catch(() => 0);
    for (const d of [data, ha, hb, hc]) await Deno.remove(d, { recursive: true });
  }
});

test("e2e: kill -9 after acknowledgement loses nothing; a restarted server delivers it", async () => {
  const data = await Deno.makeTempDir();
  const home = await Deno.makeTempDir();
  let s = await spawnServer(data);
  try {
    const port = s.port;
    await cli(home, port, ["register", "--user", "bob", "--trust-on-first-use"]);
    const conn = await Connection.open({
      host: "127.0.0.1",
      port,
      caPem: await Deno.readTextFile(`${data}/cert.pem`),
    });
    // Bob's client decrypts everything, so the sender encrypts too (plaintext bodies are refused).
    const server = `127.0.0.1:${port}`;
    const store = new LocalStore(
      LocalStore.pathFor(home, "alice", await serverKey(await Deno.readTextFile(`${data}/cert.pem`))),
    );
    const alice = await ChatClient.login({
      conn,
      server,
      user: "alice",
      password: "pw-secret-123",
      register: true,
      store,
      kdf: testKdf,
    });
    await attachE2e(alice, "pw-secret-123", { params: testArgon });
    const acks = await Promise.all(
      Array.from({ length: 200 }, () => alice.send({ kind: "user", name: "bob" }, "durable")),
    );
    assert.equal(acks.filter((m) => m.seq > 0).length, 200);
    await stop(s, "SIGKILL");
    await alice.close();
    s = await spawnServer(data, port);
    const r = await cli(home, port, ["read", "--user", "bob", "--json"]);
    assert.equal(JSON.parse(r.out).length, 200);
  } finally {
    await stop(s).catch(() => 0);
    await Deno.remove(data, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

test("e2e: SIGTERM tells connected clients and exits 0; a changed certificate is then refused", async () => {
  const data = await Deno.makeTempDir();
  const home = await Deno.makeTempDir();
  const s = await spawnServer(data);
  let s2: Spawned | null = null;
  try {
    await cli(home, s.port, ["register", "--user", "dana", "--trust-on-first-use"]);
    const conn = await Connection.open({
      host: "127.0.0.1",
      port: s.port,
      caPem: await Deno.readTextFile(`${data}/cert.pem`),
    });
    const byes: unknown[] = [];
    conn.onPush((f) => f.header.t === "bye" && byes.push(f.header));
    await conn.request("hello", { v: 1, client: "t" });
    // The client sends a credential derived from the password with the account's record.
    const kdf = checkAccountKdf((await conn.request("kdf", { user: "dana" })).header.kdf);
    const { credential } = await accountSecrets("pw-secret-123", kdf);
    await conn.request("login", { user: "dana", password: credential });
    const t0 = Date.now();
    assert.equal(await stop(s, "SIGTERM"), 0);
    assert.ok(Date.now() - t0 < 10_000);
    await conn.done;
    assert.deepEqual(byes, [{ t: "bye", code: "shutdown", reason: "The server is shutting down" }]);
    const other = await Deno.makeTempDir();
    s2 = await spawnServer(other, s.port);
    const r = await cli(home, s.port, ["login", "--user", "dana"]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /certificate of 127\.0\.0\.1:\d+ has CHANGED \(known SHA256:[0-9A-F:]+, now SHA256:[0-9A-F:]+\)/,
    );
    await stop(s2);
    await Deno.remove(other, { recursive: true });
  } finally {
    if (s2) await stop(s2).catch(() => 0);
    await stop(s).catch(() => 0);
    await Deno.remove(data, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

test("e2e: the console on stdin answers /info and /shutdown exits 0", async () => {
  const data = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PERMS,
      `${ROOT}server.ts`,
      "--port",
      "0",
      "--data",
      data,
      "--videos",
      `${data}/none`,
      "--console",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  try {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode("/info\n/nope\n/shutdown\n"));
    await w.close();
    const out = new TextDecoder().decode((await child.output()).stdout);
    assert.match(out, /^Parley listening on /m);
    assert.match(out, /^connections: 0$/m);
    assert.match(out, /^uptime_s: \d+$/m);
    assert.match(out, /^Unknown command \/nope; type \/help$/m);
    assert.match(out, /^Shut down$/m);
    assert.equal((await child.status).code, 0);
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

test("e2e: server.ts --log-messages writes message metadata, never bodies, to parley.log (issue 14)", async () => {
  const data = await Deno.makeTempDir();
  const [ha, hb] = await Promise.all([Deno.makeTempDir(), Deno.makeTempDir()]);
  const s = await spawnServer(data, 0, ["--log-messages"]);
  try {
    for (const [h, u] of [[ha, "alice"], [hb, "bob"]] as const) {
      assert.equal((await cli(h, s.port, ["register", "--user", u, "--trust-on-first-use"])).code, 0);
    }
    const sent = await cli(ha, s.port, [
      "send",
      "--user",
      "alice",
      "bob",
      "meet",
      "at",
      "the",
      "old",
      "mill",
    ]);
    assert.equal(sent.code, 0, sent.err);
    assert.equal(await stop(s), 0);
    const log = await Deno.readTextFile(`${data}/parley.log`);
    assert.match(log, /^\S+Z INFO message from=alice to=bob bytes=\d+ seq=\d+$/m);
    assert.ok(!log.includes("old mill") && !s.stderr().includes("old mill"), "bodies never logged");
  } finally {
    await stop(s).catch(() => 0);
    for (const d of [data, ha, hb]) await Deno.remove(d, { recursive: true });
  }
});
