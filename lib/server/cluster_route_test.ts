/**
 * cluster_route.ts and its use in cluster.ts (issue 73): nodes on one MemoryBusNet over one store in
 * memory. A node holding neither side of a DM hears none of its rows; a user logging in on a node
 * while a batch is sent to it by an older route (injected: its `route` events held back, or the user
 * arriving between an event and the gap before it filling) still gets every message, from the store.
 */
import assert from "node:assert/strict";
import { systemClock } from "../common/clock.ts";
import { ManualTimers } from "../common/clock_testing.ts";
import { memoryLogger } from "../common/logger.ts";
import type { Bus, BusEvent } from "./bus/bus.ts";
import { MemoryBusNet } from "./bus/bus.ts";
import { Cluster } from "./cluster.ts";
import { shareOf } from "./cluster_route.ts";
import type { Core } from "./core.ts";
import { Hub } from "./hub.ts";
import type { Outbox } from "./outbox.ts";
import { liveSession } from "./session_testing.ts";
import type { Session } from "./session.ts";
import type { StoredMessage } from "./store/store.ts";

const KEY = crypto.getRandomValues(new Uint8Array(32));

const dm = (seq: number, sender: string, target: string): StoredMessage => ({
  seq,
  mid: `m${seq}`,
  sender,
  kind: "user",
  target,
  conv: `d:${[sender, target].sort().join(":")}`,
  ts: seq,
  body: Uint8Array.of(seq),
});

/** What one node heard and did: the rows and left-out seqs of `msg` events, store reads, users' deliveries. */
interface NodeT {
  cluster: Cluster;
  hub: Hub;
  heardRows: number[];
  heardSkips: number[][];
  /** The users each other node's last `route` event named. */
  routes: Map<string, string[]>;
  reads: number;
  /** The seqs each user's session here was sent. */
  got: Map<string, number[]>;
  login(user: string): Session;
  /** Stores `rows` as this node's batch (appended to the shared store unless `committed`) and tells the others. */
  store(rows: StoredMessage[], committed?: boolean, from?: Session): void;
}

/** Nodes named `ids` on one bus and one store; `wrap` may put a fault between a node and its bus. */
async function world(ids: string[], wrap: (b: Bus, id: string, n: () => NodeT) => Bus = (b) => b) {
  const net = new MemoryBusNet();
  const stored: StoredMessage[] = [];
  const nodes: NodeT[] = [];
  for (const id of ids) {
    const hub = new Hub(new ManualTimers());
    const n: NodeT = {
      hub,
      heardRows: [],
      heardSkips: [],
      routes: new Map(),
      reads: 0,
      got: new Map(),
      login(user: string) {
        const seqs = n.got.get(user) ?? [];
        n.got.set(user, seqs);
        const outbox = {
          pushMsg: (_f: unknown, b: Uint8Array) => (seqs.push(b[0]!), 1),
        } as unknown as Outbox;
        return liveSession(hub, user, outbox);
      },
      store(rows: StoredMessage[], committed = false, from?: Session) {
        if (!committed) stored.push(...rows);
        n.cluster.beforeAppend(rows, rows.map(() => from ?? null));
        n.cluster.afterAppend(rows, rows);
      },
    } as unknown as NodeT;
    const core = {
      store: {
        lastSeq: () => Promise.resolve(stored.at(-1)?.seq ?? 0),
        since: (after: number, limit: number) => {
          n.reads++;
          return Promise.resolve(stored.filter((r) => r.seq > after).slice(0, limit));
        },
      },
      hub,
      messages: { deliveries: 0, knowStored() {} },
      log: memoryLogger(systemClock).logger,
      presence: () => [],
    } as unknown as Core;
    const raw = net.join(id, { key: KEY });
    const heard: Bus = {
      node: raw.node,
      publish: (e) => raw.publish(e),
      publishTo: (to, e) => raw.publishTo(to, e),
      subscribe: (fn) =>
        raw.subscribe((from, e) => {
          if (e.t === "msg") {
            n.heardRows.push(...(e.packed ?? []).map((r) => r.seq)), n.heardSkips.push([...e.skip ?? []]);
          }
          if (e.t === "route") n.routes.set(from, e.users);
          fn(from, e);
        }),
      close: () => raw.close(),
    };
    n.cluster = new Cluster(core, wrap(heard, id, () => n), systemClock, { heartbeatMs: 1e9 });
    nodes.push(n);
  }
  for (const n of nodes) await n.cluster.start();
  return { nodes, stored, close: () => Promise.all(nodes.map((n) => n.cluster.close())) };
}

/** Every node heard every other's `route` event naming `users` (node id → its users). */
function routesKnown(w: { nodes: NodeT[] }, users: Record<string, string[]>): () => boolean {
  return () =>
    w.nodes.every((n) =>
      Object.entries(users).every(([id, u]) =>
        id === n.cluster.node || JSON.stringify(n.routes.get(id)) === JSON.stringify(u)
      )
    );
}

/** Waits, turn by turn, until `cond` holds (the bus and the store here answer within a few turns). */
async function until(cond: () => boolean, what: string, turns = 200): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await new Promise((r) => setTimeout(r, i < 100 ? 0 : 10));
  assert.ok(cond(), what);
}

Deno.test("cluster_route: a node's share of a batch is its users' DMs (either side) and every room row; the rest as ranges", () => {
  const room = { ...dm(4, "alice", "dev"), kind: "room" as const };
  const rows = [
    dm(1, "alice", "bob"),
    dm(2, "carol", "dave"),
    dm(3, "erin", "dave"),
    room,
    dm(5, "bob", "x"),
  ];
  const s = shareOf(rows, new Set(["bob"]));
  assert.deepEqual(s.rows.map((r) => r.seq), [1, 4, 5]);
  assert.deepEqual(s.skip, [2, 3]);
  assert.deepEqual(
    shareOf([dm(7, "a", "b"), dm(9, "a", "b")], new Set()).skip,
    [7, 7, 9, 9],
    "apart: two ranges",
  );
});

Deno.test("cluster_route: a node holding neither side of a DM hears none of its rows, and no node reads the store", async () => {
  const w = await world(["A", "B", "C"]);
  try {
    const [a, b, c] = w.nodes as [NodeT, NodeT, NodeT];
    a.login("alice"), b.login("bob"), c.login("carol");
    await until(
      routesKnown(w, { A: ["alice"], B: ["bob"], C: ["carol"] }),
      "every node heard the others' users",
    );
    const reads = w.nodes.map((n) => n.reads);
    a.store([dm(1, "alice", "bob"), dm(2, "alice", "bob"), dm(3, "alice", "carol"), dm(4, "bob", "alice")]);
    await until(() => b.got.get("bob")!.length === 3 && c.got.get("carol")!.length === 1, "delivered");
    assert.deepEqual(b.got.get("bob"), [1, 2, 4]);
    assert.deepEqual(c.got.get("carol"), [3]);
    assert.deepEqual(a.got.get("alice"), [1, 2, 3, 4], "her own node: every row (no sending session given)");
    assert.deepEqual(c.heardRows, [3], "node C hears only carol's row");
    assert.deepEqual(c.heardSkips, [[1, 2, 4, 4]]);
    assert.deepEqual(b.heardRows, [1, 2, 4]);
    assert.deepEqual(w.nodes.map((n) => n.reads), reads, "nothing read back from the store");
    // Each node stepped over what was not its users': the next batch is fanned out at once.
    b.store([dm(5, "bob", "carol")]);
    await until(() => c.got.get("carol")!.length === 2, "the next batch");
    assert.deepEqual(w.nodes.map((n) => n.reads), reads);
    assert.deepEqual(a.heardRows, [], "node A holds neither bob nor carol");
  } finally {
    await w.close();
  }
});

Deno.test("cluster_route: a user logging in while the sender knows an older route gets the message (read from the store)", async () => {
  let hold = false;
  // Node B's `route` events are held back once carol is known: A keeps judging by that epoch.
  const w = await world(
    ["A", "B"],
    (bus, id) =>
      id !== "B"
        ? bus
        : { ...bus, publish: (e: BusEvent) => hold && e.t === "route" ? undefined : bus.publish(e) },
  );
  try {
    const [a, b] = w.nodes as [NodeT, NodeT];
    a.login("alice"), b.login("carol");
    await until(routesKnown(w, { A: ["alice"], B: ["carol"] }), "the nodes heard each other's users");
    hold = true;
    b.login("bob"); // A has not heard: bob's rows are left out of B's share, judged by carol's epoch
    a.store([dm(1, "alice", "bob"), dm(2, "alice", "carol")]);
    await until(() => b.got.get("bob")!.length === 1, "bob got the message sent while he logged in");
    assert.deepEqual(b.heardSkips, [[1, 1]], "left out by the older route");
    assert.deepEqual(b.got.get("bob"), [1]);
    assert.deepEqual(b.got.get("carol"), [2]);
  } finally {
    await w.close();
  }
});

Deno.test("cluster_route: a user logging in between a routed event and the gap before it filling gets the seq left out", async () => {
  // B hears A's event (seq 2 left out) before C's (seq 1, carol's); bob logs in on B in between.
  const w = await world(["A", "B", "C"], (bus, id, n) =>
    id !== "B" ? bus : {
      ...bus,
      subscribe: (fn) =>
        bus.subscribe((from, e) => {
          fn(from, e);
          if (e.t === "msg" && e.seq === 2 && !n().got.has("bob")) n().login("bob");
        }),
    });
  try {
    const [a, b, c] = w.nodes as [NodeT, NodeT, NodeT];
    a.login("alice"), b.login("carol"), c.login("dave");
    await until(
      routesKnown(w, { A: ["alice"], B: ["carol"], C: ["dave"] }),
      "every node heard the others' users",
    );
    w.stored.push(dm(1, "dave", "carol")); // C's commit got seq 1, A's seq 2; A tells first
    a.store([dm(2, "alice", "bob")]);
    await until(() => b.got.has("bob"), "bob logged in on B after A's event");
    c.store([dm(1, "dave", "carol")], true);
    await until(() => b.got.get("bob")!.length === 1, "bob got seq 2");
    assert.deepEqual(b.got.get("bob"), [2]);
    assert.deepEqual(b.got.get("carol"), [1]);
  } finally {
    await w.close();
  }
});

Deno.test("cluster_route: the sending session is not sent its own message back; its user's other session here is", async () => {
  const w = await world(["A", "B"]);
  try {
    const [a, b] = w.nodes as [NodeT, NodeT];
    const sender = a.login("alice");
    b.login("bob");
    await until(routesKnown(w, { A: ["alice"], B: ["bob"] }), "the nodes heard each other's users");
    a.login("alice"); // her second device on the same node: both record into got("alice")
    a.store([dm(1, "alice", "bob"), dm(2, "alice", "bob")], false, sender);
    b.store([dm(3, "bob", "alice")]);
    await until(() => b.got.get("bob")!.length === 3 && a.got.get("alice")!.length === 4, "delivered");
    assert.deepEqual(a.got.get("alice"), [1, 2, 3, 3], "the second device gets 1 and 2, both get 3");
    assert.deepEqual(b.got.get("bob"), [1, 2, 3]);
  } finally {
    await w.close();
  }
});
