/**
 * Nodes under faults (issue 74), spawned `server.ts` nodes on a throwaway PostgreSQL and NATS
 * (cluster_harness.ts, cluster_spawn.ts): SIGTERM ends a node within its stop bound while its
 * PostgreSQL is paused; during a PostgreSQL outage a send is answered `unavailable`, stays in the
 * sender's outbox and is delivered once after the outage.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import type { ChatMessage } from "../lib/client/backend.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { Connection } from "../lib/client/session/connection.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { sendKeptOnce } from "../lib/client/cli/send_stdin.ts";
import { clusterSkip, faultyBus, fileEngines, freePort } from "./cluster_harness.ts";
import { login, spawnNode } from "./cluster_spawn.ts";
import { eventually, testCert, testKdf } from "./helpers.ts";
import { BusSeal, FOREIGN_WINDOW_MS } from "../lib/server/bus/seal.ts";
import type { Bus } from "../lib/server/bus/bus.ts";
import { NatsBus } from "../lib/server/bus/nats_bus.ts";
import type { ClusterOptions } from "../lib/server/cluster.ts";
import { ParleyServer } from "../lib/server/server.ts";
import { PostgresStore } from "../lib/server/store/postgres_store.ts";
import { memoryLogger } from "../lib/common/logger.ts";
import { systemClock, systemTimers, type Timers } from "../lib/common/clock.ts";
import { fastHasher } from "./helpers.ts";
import { TEST_CLUSTER_KEY } from "./cluster_harness.ts";
import { runConsoleLine } from "../lib/server/console.ts";
import { ManualClock } from "../lib/common/clock.ts";
import { Logger } from "../lib/common/logger.ts";

// The throwaway engines stop after the file's tests, whatever ran or failed (cluster_harness.ts).
const engines = fileEngines();
Deno.test.afterAll(engines.stop);

const ignore = clusterSkip !== null;

/** The parley.log of every node started in `dir` (cluster_spawn.ts makes their data folders there). */
async function nodeLog(dir: string): Promise<string> {
  let text = "";
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory && e.name.startsWith("node-")) {
      text += await Deno.readTextFile(`${dir}/${e.name}/parley.log`).catch(() => "");
    }
  }
  return text;
}

Deno.test({
  name:
    "faults: SIGTERM to a node whose PostgreSQL is paused ends it within --stop-timeout, naming what was pending",
  ignore,
  async fn() {
    const { pg, nats } = await engines.both();
    const dir = await Deno.makeTempDir({ prefix: "parley-faults-" });
    const url = await pg.newDatabase();
    const a = await spawnNode(dir, url, nats.url, { args: ["--stop-timeout", "3"] });
    let paused = false;
    try {
      const alice = await login(a.port, "alice", true);
      await alice.sync();
      await pg.pause();
      paused = true;
      const t0 = Date.now();
      a.child.kill("SIGTERM");
      const killer = setTimeout(() => a.child.kill("SIGKILL"), 15_000);
      const status = await a.child.status;
      clearTimeout(killer);
      const took = Date.now() - t0;
      assert.ok(took < 6000, `the node took ${took} ms to end after SIGTERM (bound 3 s)`);
      assert.equal(status.signal, null, "the node ended by itself, not by SIGKILL");
      assert.equal(status.code, 1, "a stop cut short by its bound exits 1");
      await alice.close().catch(() => {});
      const log = await nodeLog(dir) + await a.stderr;
      assert.match(log, /shutdown\.pending/, `the log names what was still pending: ${log.slice(-1500)}`);
    } finally {
      if (paused) await pg.resume();
      try {
        a.child.kill("SIGKILL");
      } catch { /* gone */ }
      await a.child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** `user` registered on the node at `port` with a client folder's store in memory (an outbox). */
async function withOutbox(port: number, user: string, timers?: Timers): Promise<ChatClient> {
  const conn = await Connection.open({ host: "127.0.0.1", port, caPem: (await testCert()).cert });
  return await ChatClient.login({
    conn,
    server: `127.0.0.1:${port}`,
    user,
    password: `pw-${user}-secret`,
    register: true,
    kdf: testKdf,
    store: new LocalStore(":memory:"),
    ...(timers ? { timers } : {}),
  });
}

/** How many rows of the shared database hold the message `mid`. */
async function storedCopies(url: string, mid: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [r] = await sql`SELECT COUNT(*)::int AS n FROM messages WHERE mid = ${mid}`;
    return r!.n as number;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

Deno.test({
  name:
    "faults: during a PostgreSQL outage a send is answered unavailable, stays queued, and is delivered once after it",
  ignore,
  async fn() {
    const { pg, nats } = await engines.both();
    const dir = await Deno.makeTempDir({ prefix: "parley-faults-" });
    const url = await pg.newDatabase();
    const metrics = await freePort();
    const a = await spawnNode(dir, url, nats.url, { args: ["--metrics", `127.0.0.1:${metrics}`] });
    const clients: ChatClient[] = [];
    let down = false;
    try {
      const bob = await login(a.port, "bob", true);
      const alice = await withOutbox(a.port, "alice");
      clients.push(bob, alice);
      await Promise.all([bob.sync(), alice.sync()]);
      const seen: ChatMessage[] = [];
      bob.on((e) => void (e.type === "message" && seen.push(e.message)));
      const to = { kind: "user" as const, name: "bob" };

      await pg.down();
      down = true;
      const h = await fetch(`http://127.0.0.1:${metrics}/healthz`);
      assert.equal(h.status, 503);
      assert.match(await h.text(), /^unhealthy store=The server cannot reach its database right now/);
      // A login during the outage is answered at once, with the code that says "try again".
      const t0 = Date.now();
      await assert.rejects(
        login(a.port, "bob", false),
        (e: Error & { code?: string }) => e.code === "unavailable",
      );
      assert.ok(Date.now() - t0 < 4000, `the login was answered after ${Date.now() - t0} ms`);

      // A scripted send gives up after its patience: kept in the outbox, waiting, not failed.
      const said: string[] = [];
      await assert.rejects(
        sendKeptOnce(alice, to, "kept through the outage", undefined, (l) => said.push(l), 1500),
        (e: Error & { code?: string }) => e.code === "unavailable",
      );
      assert.match(said[0]!, /^The server cannot store messages right now; sending again/);
      assert.match(said[1]!, /waits in the outbox/);
      const kept = alice.outgoing!.list();
      assert.equal(kept.length, 1);
      assert.equal(kept[0]!.text, "kept through the outage");
      assert.equal(kept[0]!.failed, undefined, "not marked failed");

      // Another waits for the store to come back, said once.
      const said2: string[] = [];
      const waiting = sendKeptOnce(
        alice,
        to,
        "sent once it is back",
        undefined,
        (l) => said2.push(l),
        30_000,
      );
      await eventually(() => said2.length === 1, 10_000, "the send said the server cannot store");
      await pg.up();
      down = false;
      const sent = await waiting;
      assert.ok(sent.seq > 0);
      assert.equal(said2.length, 1, "said once");

      // The kept one goes at the next connect of a following client, with its mid.
      await alice.start();
      await eventually(() => alice.outgoing!.count() === 0, 15_000, "the outbox emptied");
      await eventually(() => seen.length >= 2, 10_000, "bob got both");
      // The fence: bob's node delivers in seq order, so a second copy of either would come before it.
      await alice.send(to, "fence");
      await eventually(() => seen.some((m) => m.text === "fence"), 10_000, "the fence");
      const texts = seen.map((m) => m.text).filter((x) => x !== "fence").sort();
      assert.deepEqual(texts, ["kept through the outage", "sent once it is back"]);
      assert.equal(seen.at(-1)!.text, "fence");
      assert.equal(await storedCopies(url, kept[0]!.mid), 1);
      assert.equal(await storedCopies(url, sent.mid), 1);
    } finally {
      if (down) await pg.up().catch(() => {});
      for (const c of clients) await c.close().catch(() => {});
      await a.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("faults: an event refused as stale after a pause logs a hint naming pauses and partitions, not only the key", () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const clock = new ManualClock();
  const lines: string[] = [];
  const log = new Logger([(l) => lines.push(l)], clock);
  const a = new BusSeal({ key, clock }, "t"), b = new BusSeal({ key, clock, log }, "t");
  const wire = a.seal("node-a", { t: "msg", seq: 1 });
  clock.advance(31_000); // node A (or NATS) was paused for 31 s
  assert.equal(b.open(wire), null);
  assert.equal(b.refused.get("stale"), 1);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /WARN bus\.refused counts="stale: 1"/, "a warning, not an error (issue 69 S3)");
  assert.equal(b.foreignKey(), null, "a stale event does not fail the health check");
  assert.match(lines[0]!, /paused or cut off \(partitioned\)/);
  assert.doesNotMatch(lines[0]!, /same cluster key/, "a stale event alone says nothing of keys");
});

Deno.test("faults (issue 69 S3): an envelope under another cluster key is an ERROR and the seal says so for a minute; a stale one is not", () => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const log = new Logger([(l) => lines.push(l)], clock);
  const other = new BusSeal({ key: crypto.getRandomValues(new Uint8Array(32)), clock }, "t");
  const b = new BusSeal({ key: crypto.getRandomValues(new Uint8Array(32)), clock, log }, "t");
  assert.equal(b.foreignKey(), null);
  assert.equal(b.open(other.seal("node-x", { t: "msg", seq: 1 })), null);
  assert.equal(b.open(other.seal("node-x", { t: "msg", seq: 2 })), null);
  assert.match(lines[0]!, /ERROR bus\.refused counts="bad key or tampered: 1"/);
  assert.match(b.foreignKey() ?? "", /^2 bus envelopes under another cluster key in the last minute/);
  clock.advance(FOREIGN_WINDOW_MS + 1);
  assert.equal(b.foreignKey(), null, "a minute without one: healthy again");
});

/**
 * Two in-process nodes on one fresh database and NATS subject, each beating its heartbeat row as
 * server.ts does; `mute(true)` makes the bus deliver nothing (a NATS blip).
 */
async function twoNodes() {
  const { pg, nats } = await engines.both();
  const url = await pg.newDatabase();
  const tls = await testCert();
  const subject = `parley.t${crypto.randomUUID().slice(0, 8)}`;
  let muted = false;
  const mutable = (b: Bus): Bus => faultyBus(b, { hear: () => !muted });
  const servers: ParleyServer[] = [], clients: ChatClient[] = [];
  const beats: ReturnType<typeof setInterval>[] = [];
  // What each node's heartbeat tick asked the store: the `now` of each look at the live nodes (the
  // tick's sweep of quiet nodes ran just before it, at that time), and each read of the stored
  // controls begun (one at a time: a read starts once the one before it was applied).
  const looked: number[][] = [[], []], controlReads = [0, 0];
  for (const [i, node] of ["node1", "node2"].entries()) {
    const store = await PostgresStore.open(url);
    const cluster: ClusterOptions = {
      heartbeatMs: 150,
      presenceTimeoutMs: 600,
      liveNodes: (now, within) => (looked[i]!.push(now), store.nodeProtocols(node, now, within)),
      controls: {
        put: (o, at, e) => store.putControl(o, at, e),
        since: (after, limit) => (controlReads[i]!++, store.controlsSince(after, limit)),
        last: () => store.lastControl(),
      },
    };
    const bus = mutable(await NatsBus.open(nats.url, node, { key: TEST_CLUSTER_KEY, subject }));
    const srv = new ParleyServer(
      { port: 0, msgRate: 0, loginRate: 0, dataDir: "/nonexistent" },
      { store, log: memoryLogger(systemClock).logger, tls, hasher: fastHasher, bus, cluster },
    );
    await srv.start();
    servers.push(srv);
    beats.push(setInterval(() => store.heartbeat(node, true, Date.now()).catch(() => {}), 150));
  }
  return {
    servers,
    beats,
    looked,
    controlReads,
    mute(on: boolean) {
      muted = on;
    },
    async client(i: number, user: string, register = true) {
      const c = await login(servers[i]!.port, user, register);
      clients.push(c);
      return c;
    },
    async stop() {
      muted = false;
      for (const b of beats) clearInterval(b);
      for (const c of clients) await c.close().catch(() => {});
      await Promise.all(servers.map((x) => x.shutdown()));
    },
  };
}

Deno.test({
  name:
    "faults: while the bus is silent, a node keeps the users of nodes whose PostgreSQL heartbeat is fresh",
  ignore,
  async fn() {
    const n = await twoNodes();
    try {
      const alice = await n.client(0, "alice");
      await n.client(1, "bob");
      const bobThere = async () => (await alice.who()).some((p) => p.user === "bob");
      await eventually(bobThere, 5000, "bob seen from node 1");
      const quiet = Date.now(); // node 2's last word reached node 1 before this
      n.mute(true);
      // Event: node 1's tick swept its remote nodes with node 2 silent past the presence timeout (600 ms).
      const past = () => n.looked[0]!.some((t) => t > quiet + 600);
      await eventually(past, 5000, "a tick of node 1 with node 2 silent past the timeout");
      assert.ok(await bobThere(), "bob kept while node 2's heartbeat in PostgreSQL is fresh");
      clearInterval(n.beats.pop()); // node 2 stops beating too: now it is gone
      await eventually(async () => !(await bobThere()), 5000, "bob offline once node 2's heartbeat is old");
    } finally {
      await n.stop();
    }
  },
});

Deno.test({
  name:
    "faults: a kick sent while the bus is silent lands from the store on the other node; a later login stays",
  ignore,
  async fn() {
    const n = await twoNodes();
    try {
      await n.client(0, "alice");
      const bob = await n.client(1, "bob");
      await bob.sync();
      n.mute(true);
      const out = await runConsoleLine(n.servers[0]!, "/kick bob stop that");
      assert.match(out, /Kicked bob \(0 sessions closed\)/);
      await eventually(() => bob.conn.closed, 3000, "bob's session on node 2 closed by the stored kick");
      // bob comes back on node 2 after the kick: the same stored kick closes nothing more.
      const again = await n.client(1, "bob", false);
      await again.sync();
      // Event: node 2 read and applied the stored controls after this login (its next read begins after).
      const reads = n.controlReads[1]!;
      await eventually(() => n.controlReads[1]! >= reads + 2, 5000, "node 2 read the stored controls again");
      await again.sync(); // fence: a kick's close reaches the client before this answer
      assert.equal(again.conn.closed, false, "bob's new session lives");
    } finally {
      await n.stop();
    }
  },
});

Deno.test({
  name:
    "faults: a following client's sends during a PostgreSQL outage wait as pending, said once, then go in order",
  ignore,
  async fn() {
    const { pg, nats } = await engines.both();
    const dir = await Deno.makeTempDir({ prefix: "parley-faults-" });
    const url = await pg.newDatabase();
    const a = await spawnNode(dir, url, nats.url);
    const clients: ChatClient[] = [];
    let down = false;
    try {
      const bob = await login(a.port, "bob", true);
      // The kept sends' retry, seen: a timer set again is a retry answered "unavailable".
      const retries: number[] = [];
      const timers: Timers = {
        set: (fn, ms) => (retries.push(ms), systemTimers.set(fn, ms)),
        clear: (t) => systemTimers.clear(t),
      };
      const alice = await withOutbox(a.port, "alice", timers);
      clients.push(bob, alice);
      await bob.sync();
      await alice.start(); // a UI: its sends are kept in the outbox until taken
      const seen: string[] = [], notices: string[] = [];
      bob.on((e) => void (e.type === "message" && seen.push(e.message.text)));
      alice.on((e) => void (e.type === "notice" && notices.push(e.text)));
      const to = { kind: "user" as const, name: "bob" };
      await pg.down();
      down = true;
      const first = await alice.send(to, "one");
      const second = await alice.send(to, "two");
      assert.equal(first.pending, true);
      assert.equal(second.pending, true);
      assert.equal(alice.outgoing!.count(), 2);
      const storeDown = () => notices.filter((t) => /cannot store messages right now/.test(t)).length;
      // The node answers a store call within its bound (statement timeout + 1 s, postgres_store.ts), which a
      // connect to the stopped port can take when another test's listener took it meanwhile (CI, 3 jobs).
      await eventually(() => storeDown() >= 1, 20_000, "the client says the server cannot store messages")
        .catch((e) => {
          throw new Error(`${e.message}; notices: ${notices.join(" | ")}; closed: ${alice.conn.closed}`);
        });
      await eventually(() => retries.length >= 2, 10_000, "a retry answered while the store is still down");
      assert.equal(
        storeDown(),
        1,
        notices.join("\n"),
      );
      await pg.up();
      down = false;
      await eventually(() => alice.outgoing!.count() === 0, 15_000, "the outbox emptied");
      await eventually(() => seen.length >= 2, 10_000, "bob got both");
      await alice.send(to, "fence"); // delivered in seq order: after any second copy
      await eventually(() => seen.includes("fence"), 10_000, "the fence");
      assert.deepEqual(seen, ["one", "two", "fence"], "once each, in order");
      assert.equal(await storedCopies(url, first.mid), 1);
    } finally {
      if (down) await pg.up().catch(() => {});
      for (const c of clients) await c.close().catch(() => {});
      await a.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
