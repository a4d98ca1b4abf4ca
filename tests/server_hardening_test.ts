/**
 * Issue 10 items 2, 3 and 15 against a spawned `server.ts`. With a low open-files limit (ulimit -n 256):
 * bare TCP connections that never start TLS are closed at the handshake deadline and their
 * descriptors released (4 rounds of 64 from one address); the total cap is fitted to the limit at
 * start with one sentence; a pipelined ack flood from one user does not freeze another user's ping.
 * A data folder that already existed with loose modes ends up 0700 with 0600 files.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/common/clock.ts";
import { LoadConn } from "./bench/load_client.ts";
import { seed, tokenOf } from "./bench/bench_server.ts";
import { eventually, spawnServerProcess, startTestServer } from "./helpers.ts";
import { runConsoleLine } from "../lib/server/console.ts";
import { deviceAuth } from "../lib/client/e2e/keys.ts";

const LIMIT = 256;

async function sh(cmd: string): Promise<string> {
  const o = await new Deno.Command("sh", { args: ["-c", cmd], stdout: "piped", stderr: "null" }).output();
  return new TextDecoder().decode(o.stdout).trim();
}
const fdCount = async (pid: number) => Number(await sh(`ls /proc/${pid}/fd | wc -l`));

const spawnServer = (dir: string) =>
  spawnServerProcess(dir, {
    ulimit: LIMIT,
    // No per-connection rate: the flood below must be survived by scheduling, not by the limiter.
    args: ["--login-timeout", "1", "--login-rate", "0", "--msg-rate", "0"],
  });

Deno.test({
  name:
    "bare TCP connections are released at the handshake deadline, caps fit the fd limit, and an ack flood does not freeze others",
  ignore: Deno.build.os !== "linux", // ulimit, /proc and prlimit
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-stall-" });
  await seed(dir, ["alice", "bob"]);
  const srv = await spawnServer(dir);
  const conns: LoadConn[] = [];
  try {
    const bob = await LoadConn.open(srv.port, srv.cert);
    conns.push(bob);
    await bob.ok("hello", { v: 1, client: "test" });
    await bob.ok("login", { user: "bob", token: tokenOf("bob") });
    const base = await fdCount(srv.pid);

    // Item 2: four rounds of 64 bare connects from one address, each left without a handshake.
    for (let round = 0; round < 4; round++) {
      const bare: Deno.Conn[] = [];
      for (let i = 0; i < 64; i++) bare.push(await Deno.connect({ hostname: "127.0.0.1", port: srv.port }));
      // Closed by the server at its handshake deadline (1 s here): every bare socket sees EOF.
      const buf = new Uint8Array(16);
      const ends = await Promise.all(bare.map((c) =>
        Promise.race([
          c.read(buf).then((n) => n === null, () => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
        ])
      ));
      assert.equal(
        ends.filter(Boolean).length,
        64,
        `round ${round}: every bare socket was closed by the server`,
      );
      for (const c of bare) c.close();
      // The server still serves its logged-in user once the round is closed: the answer is the event
      // (no duration bound across processes; a frozen server is item 3's, measured against the flood).
      await bob.ok("ping");
    }
    // The server's descriptors are back where they were (a few for timers and the store at most).
    let fds = await fdCount(srv.pid);
    for (let i = 0; i < 20 && fds > base + 8; i++) {
      await new Promise((r) => setTimeout(r, 100));
      fds = await fdCount(srv.pid);
    }
    assert.ok(fds <= base + 8, `descriptors after 4 rounds: ${fds}, before: ${base}`);

    // Item 3: alice pipelines 50 acks of 1,000 entries each (her own conversations, real seqs:
    // every entry is written); bob's pings during the flood still answer fast.
    const alice = await LoadConn.open(srv.port, srv.cert);
    conns.push(alice);
    await alice.ok("hello", { v: 1, client: "test" });
    await alice.ok("login", { user: "alice", token: tokenOf("alice") });
    const sent = await alice.ok("send", { to: { kind: "user", name: "bob" }, mid: "stall-test-1" });
    const seq = sent.header.seq as number;
    const acks = Array.from({ length: 1000 }, (_, i) => ({ conv: `d:alice:u${i}`, seq }));
    const floodStart = performance.now();
    const flood = Array.from({ length: 50 }, () => alice.request("ack", { acks }));
    const pings: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await bob.ok("ping");
      pings.push(performance.now() - t0);
    }
    const replies = await Promise.all(flood);
    const floodMs = performance.now() - floodStart;
    assert.ok(replies.every((f) => f.header.acked === 1000), "the flood was served");
    // Served between the flood's commits, never after the flood: a server that froze for it answers its
    // first ping only near the flood's end (≥ 0.9 of it). The bound is the flood measured in the same run
    // (a loaded machine's commits and pings are slower alike), with room for one scheduling hiccup of the
    // test process itself (seen: one ping of 544 ms in a 1,452 ms flood under a load average of 10).
    assert.ok(
      Math.max(...pings) < Math.max(200, floodMs / 2),
      `bob's pings during the flood: ${pings.map(Math.round).join(", ")} ms (flood ${
        Math.round(floodMs)
      } ms)`,
    );
    // Entries beyond the last seq or for other people's conversations are skipped.
    const odd = await alice.ok("ack", {
      acks: [{ conv: "d:bob:carol", seq }, { conv: "d:alice:bob", seq: seq + 1000 }, { conv: "r:nope", seq }],
    });
    assert.deepEqual([odd.header.acked, odd.header.skipped], [0, 3]);

    // The total cap was fitted to the open-files limit at start, with one sentence saying so.
    srv.child.kill("SIGTERM");
    await srv.child.status;
    assert.match(
      await srv.errText,
      /--max-conns 10000 needs \d+ open files but the limit is 256; serving at most \d+ connections/,
    );
  } finally {
    for (const c of conns) c.c.close();
    try {
      srv.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await srv.child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("acks are weighted by their entries against the per-connection rate", async () => {
  const t = await startTestServer({ msgRate: 10, msgBurst: 20 });
  try {
    const conn = await t.connect();
    await conn.request("hello", { v: 1, client: "test" });
    await conn.request("register", { user: "alice", password: "pw-alice-secret" });
    const acks = Array.from({ length: 1000 }, () => ({ conv: "b", seq: 0 }));
    await assert.rejects(
      conn.request("ack", { acks }),
      /too fast/,
      "1,000 entries cost more than a burst of 20",
    );
    await conn.request("ack", { acks: acks.slice(0, 10) }); // a small ack still goes through
    conn.close();
  } finally {
    await t.stop();
  }
});

Deno.test({
  name: "a data folder that already existed with loose modes becomes 0700, its files 0600",
  ignore: Deno.build.os !== "linux", // spawned with ulimit; POSIX modes
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-perms-" });
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(`${dir}/parley.log`, "", { mode: 0o644 });
  await Deno.chmod(`${dir}/parley.log`, 0o644);
  const srv = await spawnServer(dir);
  try {
    const mode = async (f: string) => ((await Deno.stat(f)).mode ?? 0) & 0o777;
    assert.equal(await mode(dir), 0o700);
    for (const f of ["parley.db", "parley.db-wal", "parley.db-shm", "parley.log", "key.pem", "cert.pem"]) {
      assert.equal((await mode(`${dir}/${f}`)).toString(8), "600", f);
    }
    // Messages are rows of parley.db: no folder of them (only the relayed files' folder).
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name), ["files"]);
  } finally {
    srv.child.kill("SIGTERM");
    await srv.child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("addresses of online users are shown to admins only (who, whois, presence pushes)", async () => {
  const t = await startTestServer();
  try {
    const bob = await t.client("bob");
    assert.equal(await runConsoleLine(t.srv, "/grant bob"), "bob is now an admin");
    await bob.close();
    const admin = await t.client("bob", { register: false });
    const alice = await t.client("alice");
    await alice.sync();
    const pushed: unknown[] = [];
    alice.on((e) => e.type === "presence" && pushed.push(e));
    const carol = await t.client("carol");
    await eventually(() => pushed.length > 0, 3000, "carol's presence");
    for (const p of await alice.who()) assert.equal(p.addr, "", `alice sees no address for ${p.user}`);
    assert.equal((await alice.whois("bob"))?.addr ?? "", "");
    for (const p of await admin.who()) {
      assert.match(p.addr, /^127\.0\.0\.1:\d+$/, `admin sees ${p.user}'s address`);
    }
    assert.ok(!JSON.stringify(pushed).includes("127.0.0.1"), "presence pushes carry no address");
    await carol.close();
  } finally {
    await t.stop();
  }
});

Deno.test("one requester cannot drain another user's one-time prekeys (item 12)", async () => {
  const t = await startTestServer();
  try {
    const bob = await t.e2eClient("bob");
    // The count binds the session to a device: it shows that device's key (issue 33).
    const who = { user: "bob", nonce: bob.client.nonce };
    const count = async () =>
      (await bob.client.conn.request("keys.count", { ...(await deviceAuth(bob.codec.cs, who, 1)) })).header
        .prekeys as number;
    const before = await count();
    assert.ok(before > 20, `bob published ${before} one-time prekeys`);
    const mallory = await t.client("mallory");
    let withOpk = 0;
    for (let i = 0; i < 130; i++) {
      const r = await mallory.conn.request("keys.fetch", { user: "bob" });
      const bundle = r.header.bundle as { opk?: unknown };
      if (bundle.opk) withOpk++;
    }
    assert.equal(withOpk, 5, "five one-time prekeys for mallory, then bundles without one");
    assert.equal(await count(), before - 5);
    const carol = await t.client("carol");
    const r = await carol.conn.request("keys.fetch", { user: "bob" });
    assert.ok((r.header.bundle as { opk?: unknown }).opk, "another requester still gets one");
  } finally {
    await t.stop();
  }
});

Deno.test("resume tokens: logout revokes, a ban revokes all, at most 10 per user (item 9)", async () => {
  const clock = new ManualClock();
  const t = await startTestServer({}, { clock });
  try {
    (await t.client("root")).close();
    assert.equal(await runConsoleLine(t.srv, "/grant root"), "root is now an admin");
    const open = async () => {
      const c = await t.connect();
      await c.request("hello", { v: 1, client: "t" });
      return c;
    };
    // an account of an older client: the server checks the password itself
    await (await open()).request("register", { user: "alice", password: "pw-alice-secret" });
    const remember = async () => {
      clock.advance(1); // each token a moment younger than the last: "the oldest go" is well defined
      const c = await open();
      const r = await c.request("login", { user: "alice", password: "pw-alice-secret", remember: true });
      c.close();
      return r.header.token as string;
    };
    const works = async (token: string) => {
      const c = await open();
      try {
        await c.request("login", { user: "alice", token });
        return true;
      } catch {
        return false;
      } finally {
        c.close();
      }
    };
    // logout revokes the token the session logged in with
    const tok = await remember();
    const c = await open();
    await c.request("login", { user: "alice", token: tok });
    assert.deepEqual((await c.request("logout", {})).header.revoked, 1);
    c.close();
    assert.equal(await works(tok), false, "a logged-out token no longer logs in");
    // at most 10 live tokens: the oldest go
    const toks: string[] = [];
    for (let i = 0; i < 12; i++) toks.push(await remember());
    const live = await Promise.all(toks.map(works));
    assert.deepEqual(live, [false, false, ...Array(10).fill(true)]);
    // a ban revokes them all
    const root = await t.client("root", { register: false });
    await root.commands.kick("alice", 1);
    clock.advance(1001); // the 1 s ban is over: try the tokens
    assert.deepEqual(await Promise.all(toks.slice(2).map(works)), Array(10).fill(false));
    assert.equal(
      await (await open()).request("login", { user: "alice", password: "pw-alice-secret" }).then(() => true),
      true,
      "the password still works",
    );
  } finally {
    await t.stop();
  }
});

/** A server with a 4 MiB send queue where alice has sent bob 24 messages of 512 KiB (12 MiB). */
async function bigQueue() {
  const t = await startTestServer({ maxQueueBytes: 4 * 1024 * 1024 });
  (await t.client("bob")).close();
  const alice = await t.client("alice");
  const body = new Uint8Array(512 * 1024).fill(7);
  for (let i = 0; i < 24; i++) {
    await alice.conn.request("send", { to: { kind: "user", name: "bob" }, mid: `big-message-${i}` }, body);
  }
  return { t, alice };
}

Deno.test("a sync larger than the send queue is fed as the reader drains it, not dropped (item 4)", async () => {
  const { t } = await bigQueue();
  try {
    const bob = await t.client("bob", { register: false });
    const got = await bob.sync(); // 12 MiB queued for bob, three times the 4 MiB send queue
    assert.equal(got.length, 24);
    assert.ok(!t.lines.some((l) => l.includes("drop.slow")), "bob was not dropped as too slow");
  } finally {
    await t.stop();
  }
});

Deno.test("history answers at most half a send queue of bodies per request, newest first (item 4)", async () => {
  const { t, alice } = await bigQueue();
  try {
    const r = await alice.conn.request("history", { to: { kind: "user", name: "bob" }, limit: 1000 });
    assert.equal(r.header.count, 4, "2 MiB of 512 KiB bodies: the 4 newest");
  } finally {
    await t.stop();
  }
});
