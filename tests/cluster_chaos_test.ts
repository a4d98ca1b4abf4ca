/**
 * Three spawned nodes on one throwaway PostgreSQL and NATS under faults, one after another while DMs
 * flow (issue 74; cluster_harness.ts, cluster_spawn.ts): kill -9 of a node (its clients fail over to
 * another), PostgreSQL stopped and started, NATS killed and restarted, NATS paused, a node paused.
 * Senders keep their sends in an outbox (acknowledged once it drains); after each fault every sent
 * message is shown to its recipient once, under one seq (a recipient whose session was lost is handed
 * again what it had not acknowledged; its client shows it once: engine.ts `shown`), one row in
 * PostgreSQL, within a bound of the fault's end;
 * a kick issued during the fault has closed its victim within a bound.
 * PARLEY_CHAOS_DMS sets the DMs per sender and phase (default 30; the long form: 300);
 * PARLEY_CHAOS_DEBUG=1 prints each late delivery with its send, its answer and its arrival.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { ServerSession } from "../lib/client/core/server_session.ts";
import { Connection } from "../lib/client/session/connection.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { clusterSkip, fileEngines } from "./cluster_harness.ts";
import { type SpawnedNode, spawnNode } from "./cluster_spawn.ts";
import { test, withDeadline } from "./deadline.ts";
import { eventually, testCert, testKdf } from "./helpers.ts";

const engines = fileEngines();
Deno.test.afterAll(engines.stop);

const PER_PHASE = Number(Deno.env.get("PARLEY_CHAOS_DMS") ?? 30);
/** Every message of a phase delivered within this long after its fault ended (or after it was sent). */
const LIVE_BOUND_MS = 10_000; // a client in reconnect back-off waits up to 4 s after a 2.5 s fault
/**
 * The PostgreSQL phase's bound: nobody disconnects, the nodes' pools connect again within 250 ms and the
 * senders' outboxes go again within 1.25 s (common/backoff.ts). 0.4 s seen alone; 6–12 s before, when
 * the pool's own back-off had grown to seconds during the outage.
 */
const PG_BOUND_MS = 4000;
/** A kick issued during a fault has closed its victim within this long after the fault ended. */
const KICK_BOUND_MS = 5000;
/** How long each fault lasts. */
const FAULT_MS = 2500;

const DEBUG = !!Deno.env.get("PARLEY_CHAOS_DEBUG");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `user` logged in (or registered) on the node at `port`, not reconnecting. */
async function loginOn(port: number, user: string, register: boolean): Promise<ChatClient> {
  return await ChatClient.login({
    conn: await Connection.open({ host: "127.0.0.1", port, caPem: (await testCert()).cert }),
    server: `127.0.0.1:${port}`,
    user,
    password: `pw-${user}-secret`,
    register,
    kdf: testKdf,
  });
}

interface Cast {
  nodes: (SpawnedNode | null)[];
  clients: ChatClient[];
}

/** `user` as a UI's core on node `home`, reconnecting to the next live node in turn (failover). */
async function follower(cast: Cast, home: number, user: string, outbox: boolean): Promise<ChatClient> {
  const caPem = (await testCert()).cert;
  const conn = await Connection.open({ host: "127.0.0.1", port: cast.nodes[home]!.port, caPem });
  const c = await ChatClient.login({
    conn,
    server: `127.0.0.1:${cast.nodes[home]!.port}`,
    user,
    password: `pw-${user}-secret`,
    register: true,
    kdf: testKdf,
    store: outbox ? new LocalStore(":memory:") : undefined,
  });
  let turn = home;
  c.reconnect = async () => {
    const live = cast.nodes.filter((n): n is SpawnedNode => n !== null);
    const n = live[++turn % live.length]!;
    const conn = await withDeadline(
      2000,
      "connect",
      () => Connection.open({ host: "127.0.0.1", port: n.port, caPem }),
    );
    try {
      return await withDeadline(2000, "login", () =>
        ServerSession.login({
          conn,
          server: `127.0.0.1:${n.port}`,
          user,
          password: `pw-${user}-secret`,
          kdf: testKdf,
        }));
    } catch (e) {
      await conn.close().catch(() => {});
      throw e;
    }
  };
  cast.clients.push(c);
  if (DEBUG) {
    c.on((e) => {
      if (e.type === "connection" || e.type === "disconnected" || e.type === "notice") {
        console.log(`${Date.now() % 100_000} ${user}`, JSON.stringify(e));
      }
    });
  }
  return c;
}

/**
 * What the recipients got: per text, the seqs it came with, how often, and when it first came; which
 * recipients logged in again (a new session is handed again what the old one showed and had not
 * acknowledged yet; the client shows it once: engine.ts, "shown once").
 */
class Received {
  readonly seqs = new Map<string, Set<number>>();
  readonly times = new Map<string, number>();
  readonly first = new Map<string, number>();
  readonly reconnected = new Set<string>();
  watch(c: ChatClient): void {
    c.on((e) => {
      if (e.type === "connection" && e.state === "online") this.reconnected.add(c.user);
      if (e.type !== "message") return;
      const t = e.message.text;
      const seqs = this.seqs.get(t) ?? new Set();
      this.seqs.set(t, seqs.add(e.message.seq));
      this.times.set(t, (this.times.get(t) ?? 0) + 1);
      if (!this.first.has(t)) this.first.set(t, Date.now());
    });
  }
}

/** The recipient of a load text (`PHASE-sI-K` goes to rI). */
const recipientOf = (text: string) => `r${text.split("-").at(-2)!.slice(1)}`;

interface Fault {
  name: string;
  start(): Promise<void>;
  end(): Promise<void>;
  /** Where the kick's victim is logged in and which node's admin kicks. */
  victimOn: number;
  adminOn: number;
  /** Its delivery bound (LIVE_BOUND_MS when not given). */
  boundMs?: number;
}

test({
  deadlineMs: 120_000 + PER_PHASE * 5 * 100, // the load's pacing and the faults, generously
  name:
    "chaos: three nodes under kill -9, PostgreSQL and NATS outages and pauses lose nothing and store nothing twice",
  ignore: clusterSkip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { pg, nats } = await engines.both();
    const dir = await Deno.makeTempDir({ prefix: "parley-chaos-" });
    const url = await pg.newDatabase();
    const cast: Cast = { nodes: [], clients: [] };
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const faults: { pg: boolean; nats: "up" | "down" | "paused"; node: SpawnedNode | null } = {
      pg: false,
      nats: "up",
      node: null,
    };
    try {
      const args = ["--stop-timeout", "3"];
      cast.nodes = await Promise.all([0, 1, 2].map(() => spawnNode(dir, url, nats.url, { args })));
      // An admin logged in on each node.
      (await loginOn(cast.nodes[0]!.port, "root", true)).close();
      await sql`UPDATE users SET role = 'admin' WHERE name = 'root'`;
      const admins: ChatClient[] = [];
      for (const n of cast.nodes) admins.push(await loginOn(n!.port, "root", false));
      cast.clients.push(...admins);
      assert.equal(admins[0]!.role, "admin");
      const got = new Received();
      const senders: ChatClient[] = [];
      for (const i of [0, 1, 2]) {
        const r = await follower(cast, (i + 1) % 3, `r${i}`, true);
        got.watch(r);
        await r.start();
        const s = await follower(cast, i, `s${i}`, true);
        await s.start();
        senders.push(s);
      }
      const sentAt = new Map<string, number>();
      const refused: string[] = [];
      const answered = new Map<string, string>();
      let total = 0;

      const load = (phase: string) =>
        Promise.all(senders.map(async (s, i) => {
          for (let k = 0; k < PER_PHASE; k++) {
            const text = `${phase}-s${i}-${k}`;
            sentAt.set(text, Date.now());
            total++;
            try {
              const m = await s.send({ kind: "user", name: `r${i}` }, text);
              answered.set(text, `${m.pending ? "pending" : "ok"}@${Date.now()}`);
            } catch (e) {
              refused.push(`${text}: ${e}`);
            }
            await sleep(25);
          }
        }));

      const run = async (f: Fault) => {
        const victim = `v-${f.name.replace(/\W/g, "")}`;
        const v = await loginOn(cast.nodes[f.victimOn]!.port, victim, true);
        cast.clients.push(v);
        await v.sync();
        const texts = () => [...sentAt.keys()].filter((t) => t.startsWith(`${f.name}-`));
        const loading = load(f.name);
        await eventually(() => texts().length >= PER_PHASE, 10_000, `${f.name}: load under way`);
        if (DEBUG) console.log(`${Date.now() % 100_000} ${f.name} starts`);
        await f.start();
        // The admin kicks during the fault; while the store is down that is refused as `unavailable`
        // and tried again once it is back, as an admin would.
        let kicked = await admins[f.adminOn]!.commands.kick(victim).then(() => true, (e) => {
          assert.equal(e.code, "unavailable", `${f.name}: the kick during the fault: ${e}`);
          return false;
        });
        await sleep(FAULT_MS);
        await f.end();
        const ended = Date.now();
        const bound = f.boundMs ?? LIVE_BOUND_MS;
        if (DEBUG) console.log(`${ended % 100_000} ${f.name} ended`);
        // Asked again until the node's store answers (its pool may still be reconnecting).
        while (!kicked) {
          kicked = await admins[f.adminOn]!.commands.kick(victim).then(() => true, (e) => {
            if (e.code !== "unavailable" || Date.now() - ended > KICK_BOUND_MS) throw e;
            return sleep(100).then(() => false);
          });
        }
        await eventually(() => v.conn.closed, KICK_BOUND_MS, `${f.name}: the kick closed ${victim}`);
        const kickTook = Date.now() - ended;
        await loading;
        await eventually(
          () => senders.every((s) => s.outgoing!.count() === 0),
          bound + 5000,
          `${f.name}: every sender's outbox drained (all acknowledged)`,
        );
        const mine = texts();
        await eventually(
          () => mine.every((t) => got.seqs.has(t)),
          bound,
          `${f.name}: ${mine.filter((t) => !got.seqs.has(t)).length} of ${mine.length} not delivered`,
        );
        if (DEBUG) {
          for (const t of mine) {
            if (got.first.get(t)! - ended > 1000) {
              const [how, at] = answered.get(t)!.split("@");
              console.log(t, sentAt.get(t)! - ended, how, Number(at) - ended, got.first.get(t)! - ended);
            }
          }
        }
        const late = mine.filter((t) => got.first.get(t)! - Math.max(ended, sentAt.get(t)!) > bound);
        assert.deepEqual(late, [], `${f.name}: delivered later than ${bound} ms after the fault`);
        const twice = mine.filter((t) => got.seqs.get(t)!.size !== 1);
        assert.deepEqual(twice, [], `${f.name}: delivered under two seqs`);
        // Shown once, also by a recipient whose session was lost and who was handed it again.
        const again = mine.filter((t) => got.times.get(t) !== 1);
        assert.deepEqual(again, [], `${f.name}: shown twice`);
        const failedOver = new Set(mine.map(recipientOf).filter((r) => got.reconnected.has(r))).size;
        const worst = Math.max(...mine.map((t) => got.first.get(t)! - Math.max(ended, sentAt.get(t)!)));
        console.log(
          `${f.name}: ${mine.length} DMs, kick landed ${kickTook} ms after, slowest ${worst} ms, ` +
            `${failedOver} recipient(s) failed over`,
        );
        got.reconnected.clear();
      };

      const killed = cast.nodes[2]!;
      const phases: Fault[] = [
        {
          name: "kill9",
          victimOn: 1,
          adminOn: 0,
          start: async () => {
            killed.child.kill("SIGKILL");
            await killed.child.status;
            cast.nodes[2] = null;
          },
          end: () => Promise.resolve(),
        },
        {
          name: "pgdown",
          victimOn: 1,
          adminOn: 0,
          boundMs: PG_BOUND_MS,
          start: async () => {
            faults.pg = true;
            await pg.down();
          },
          end: async () => {
            await pg.up();
            faults.pg = false;
          },
        },
        {
          name: "natskill",
          victimOn: 1,
          adminOn: 0,
          start: async () => {
            faults.nats = "down";
            await nats.kill();
          },
          end: async () => {
            await nats.restart();
            faults.nats = "up";
          },
        },
        {
          name: "natspause",
          victimOn: 0,
          adminOn: 1,
          start: () => {
            faults.nats = "paused";
            nats.pause();
            return Promise.resolve();
          },
          end: () => {
            nats.resume();
            faults.nats = "up";
            return Promise.resolve();
          },
        },
        {
          name: "nodepause",
          victimOn: 1,
          adminOn: 0,
          start: () => {
            faults.node = cast.nodes[1]!;
            Deno.kill(faults.node.pid, "SIGSTOP");
            return Promise.resolve();
          },
          end: () => {
            Deno.kill(faults.node!.pid, "SIGCONT");
            faults.node = null;
            return Promise.resolve();
          },
        },
      ];
      for (const f of phases) await run(f);

      assert.deepEqual(refused, [], "no send was refused");
      const texts = [...sentAt.keys()];
      assert.equal(texts.length, total);
      const [row] = await sql`SELECT COUNT(*)::int AS n, COUNT(DISTINCT (sender, mid))::int AS d FROM messages
        WHERE sender LIKE 's%' AND kind = 'user'`;
      assert.equal(row!.n, total, "one row in PostgreSQL per message sent");
      assert.equal(row!.d, total, "no message stored twice");
      for (const t of texts) assert.equal(got.seqs.get(t)?.size, 1, `${t} delivered under one seq`);
    } finally {
      if (faults.pg) await pg.up().catch(() => {});
      if (faults.nats === "paused") nats.resume();
      if (faults.nats === "down") await nats.restart().catch(() => {});
      if (faults.node) Deno.kill(faults.node.pid, "SIGCONT");
      await sql.end({ timeout: 1 });
      for (const c of cast.clients) await c.close().catch(() => {});
      for (const n of cast.nodes) await n?.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
