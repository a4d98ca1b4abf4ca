/**
 * Spawned `server.ts` nodes on one throwaway PostgreSQL and NATS (issue 16): a Postgres node without
 * a bus refuses to start beside a live node; `kill -9` of a node mid-traffic loses nothing that was
 * acknowledged, and its users go offline on the other node.
 */
import assert from "node:assert/strict";
import type { ChatMessage } from "../lib/client/backend.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import { clusterSkip, fileEngines } from "./cluster_harness.ts";
import { login, type SpawnedNode, spawnNode } from "./cluster_spawn.ts";
import { eventually } from "./helpers.ts";

// The throwaway engines stop after the file's tests, whatever ran or failed (cluster_harness.ts).
const engines = fileEngines();
const both = engines.both;
Deno.test.afterAll(engines.stop);

const ignore = clusterSkip !== null;

Deno.test({
  name: "nodes: a Postgres node without --bus refuses to start while another node is alive",
  ignore,
  async fn() {
    const { pg, nats } = await both();
    const dir = await Deno.makeTempDir({ prefix: "parley-nodes-" });
    const url = await pg.newDatabase();
    const a = await spawnNode(dir, url, nats.url);
    try {
      await assert.rejects(spawnNode(dir, url, null), /another node \(.+\) is using this database/);
    } finally {
      await a.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "nodes: kill -9 of a node mid-traffic — every acknowledged message arrives once, in order",
  ignore,
  async fn() {
    const { pg, nats } = await both();
    const dir = await Deno.makeTempDir({ prefix: "parley-nodes-" });
    const url = await pg.newDatabase();
    const [a, b] = await Promise.all([spawnNode(dir, url, nats.url), spawnNode(dir, url, nats.url)]);
    const clients: ChatClient[] = [];
    try {
      const alice = await login(a.port, "alice", true);
      const bob = await login(b.port, "bob", true);
      clients.push(alice, bob);
      await Promise.all([alice.sync(), bob.sync()]);
      const seen: ChatMessage[] = [];
      const confirmed = new Set<number>();
      bob.on((e) => {
        if (e.type === "message") {
          seen.push(e.message);
          bob.ack([e.message]).then(() => confirmed.add(e.message.seq), () => {});
        }
      });
      const acked: string[] = [];
      const sending = (async () => {
        for (let i = 0; i < 60; i++) {
          await alice.send({ kind: "user", name: "bob" }, `n${i}`);
          acked.push(`n${i}`);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await eventually(() => seen.length >= 15, 5000, "traffic through node B");
      b.child.kill("SIGKILL");
      await b.child.status;
      await sending;
      await eventually(
        async () => !(await alice.who()).some((p) => p.user === "bob"),
        8000,
        "bob offline on node A after node B died",
      );
      const bob2 = await login(a.port, "bob", false);
      clients.push(bob2);
      const rest = await bob2.sync();
      const bySeq = new Map<number, string>();
      for (const m of [...seen, ...rest]) bySeq.set(m.seq, m.text);
      const got = [...bySeq].sort((x, y) => x[0] - y[0]).map(([, t]) => t);
      assert.deepEqual(got, acked, "every acknowledged message, once each, in order");
      const again = rest.filter((m) => confirmed.has(m.seq)).map((m) => m.seq);
      assert.deepEqual(again, [], "no message whose ack was confirmed is sent again");
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await a.stop();
      await b.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Every message a user saw: live (acknowledged as it came) and, after a reconnect, from `sync`. */
interface Seen {
  live: ChatMessage[];
  replay: ChatMessage[];
  /** Seqs whose ack the server confirmed: never sent again. */
  confirmed: Set<number>;
}

function watch(c: ChatClient, seen: Seen): void {
  c.on((e) => {
    if (e.type !== "message") return;
    seen.live.push(e.message);
    c.ack([e.message]).then(() => seen.confirmed.add(e.message.seq), () => {});
  });
}

Deno.test({
  name: "nodes: three nodes, 30 users — DMs and a room across nodes, a kick and a lockout across nodes, " +
    "kill -9 of node 2 mid-traffic: every acknowledged message once, in order, to everyone",
  ignore,
  async fn() {
    const { pg, nats } = await both();
    const dir = await Deno.makeTempDir({ prefix: "parley-nodes-" });
    const url = await pg.newDatabase();
    const args = ["--max-attempts", "3"];
    const nodes = await Promise.all(
      [0, 1, 2].map((i) => spawnNode(dir, url, nats.url, { console: i === 0, args })),
    );
    const [n1, n2, n3] = nodes as [SpawnedNode, SpawnedNode, SpawnedNode];
    const names = Array.from({ length: 30 }, (_, i) => `u${String(i).padStart(2, "0")}`);
    const nodeOf = (i: number) => nodes[i % 3]!;
    const clients = new Map<string, ChatClient>();
    const seen = new Map(names.map((u) => [u, { live: [], replay: [], confirmed: new Set() } as Seen]));
    try {
      // Users spread round-robin: u00 on node 1, u01 on node 2, u02 on node 3, …
      for (let k = 0; k < 30; k += 6) {
        await Promise.all(
          names.slice(k, k + 6).map(async (u, j) => {
            clients.set(u, await login(nodeOf(k + j).port, u, true));
          }),
        );
      }
      for (const u of names) {
        await clients.get(u)!.sync();
        watch(clients.get(u)!, seen.get(u)!);
      }
      await clients.get("u00")!.commands.createRoom("all", names.slice(1));
      await eventually(
        async () => (await clients.get("u29")!.commands.roomList()).some((r) => r.name === "all"),
        5000,
        "room",
      );

      // A kick on node 1's console ends u04's session on node 2; u04 logs in again on node 3. (That it
      // goes over the bus, not at a heartbeat, is cluster_test.ts's, in process: no duration here.)
      let bye: { code?: string } | null = null;
      clients.get("u04")!.on((e) => {
        if (e.type === "disconnected") bye = e;
      });
      await n1.console("/kick u04");
      await eventually(() => bye, 10_000, "kick across nodes");
      assert.equal(bye!.code, "kicked");
      const u04 = await login(n3.port, "u04", false);
      clients.set("u04", u04);
      seen.get("u04")!.replay.push(...await u04.sync());
      watch(u04, seen.get("u04")!);

      // Three wrong passwords on three nodes add up to one lockout.
      await login(n2.port, "mallory", true).then((c) => c.close());
      const codes = [];
      for (const n of [n1, n2, n3]) {
        codes.push((await login(n.port, "mallory", false, "wrong").catch((e) => e)).code);
      }
      assert.deepEqual(codes, ["bad_credentials", "bad_credentials", "locked"]);
      assert.equal((await login(n1.port, "mallory", false).catch((e) => e)).code, "locked");

      // Traffic: everyone sends DMs to the next user (on another node) and to the room; node 2 dies midway.
      const acked = new Map<string, { seq: number; from: string; to: string; text: string }[]>();
      const ack = (m: ChatMessage, to: string) =>
        acked.set(m.from, [...(acked.get(m.from) ?? []), { seq: m.seq, from: m.from, to, text: m.text }]);
      let sent = 0;
      const traffic = names.map(async (u, i) => {
        const c = clients.get(u)!;
        const next = names[(i + 1) % 30]!;
        for (let k = 0; k < 8; k++) {
          const room = k % 3 === 2;
          try {
            const m = await c.send(
              room ? { kind: "room", name: "all" } : { kind: "user", name: next },
              `${u}:${k}`,
            );
            ack(m, room ? "#all" : next);
            sent++;
          } catch {
            return; // its node died: only acknowledged messages count
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      });
      await eventually(() => sent >= 60, 20_000, "traffic before the kill");
      n2.child.kill("SIGKILL");
      await n2.child.status;
      await Promise.all(traffic);
      // Node 2's users reconnect to node 1 or 3 and fetch what they have not acknowledged.
      await eventually(
        async () => !(await clients.get("u00")!.who()).some((p) => p.user === "u01"),
        10_000,
        "node 2 gone",
      );
      for (const [i, u] of names.entries()) {
        if (nodeOf(i) !== n2 || u === "u04") continue;
        const c = await login(i % 2 ? n1.port : n3.port, u, false);
        clients.set(u, c);
        seen.get(u)!.replay.push(...await c.sync());
        watch(c, seen.get(u)!);
      }
      const all = [...acked.values()].flat();
      const expected = (u: string) =>
        all.filter((m) => m.from !== u && (m.to === u || m.to === "#all")).sort((a, b) => a.seq - b.seq)
          .map((m) => `${m.seq} ${m.text}`);
      for (const u of names) {
        await eventually(
          () => {
            const s = seen.get(u)!;
            const got = new Set(
              [...s.live, ...s.replay].filter((m) => m.from !== u).map((m) => `${m.seq} ${m.text}`),
            );
            return expected(u).every((x) => got.has(x));
          },
          10_000,
          `${u} has every acknowledged message`,
        );
      }
      // The fence: each node fans the room out in seq order, so a duplicate of an earlier message
      // reaches its user before this one does.
      await clients.get("u00")!.send({ kind: "room", name: "all" }, "fence");
      const fenced = (u: string) => seen.get(u)!.live.some((m) => m.text === "fence");
      await eventually(
        () => names.every((u) => u === "u00" || fenced(u)),
        10_000,
        "the fence reached everyone",
      );
      for (const u of names) {
        const s = seen.get(u)!;
        const live = s.live.filter((m) => m.from !== u).map((m) => m.seq);
        assert.equal(new Set(live).size, live.length, `${u}: nothing live twice`);
        for (let k = 1; k < live.length; k++) assert.ok(live[k]! > live[k - 1]!, `${u}: live in seq order`);
        const again = s.replay.filter((m) => s.confirmed.has(m.seq)).map((m) => m.seq);
        assert.deepEqual(again, [], `${u}: no message whose ack was confirmed is sent again`);
        const merged = new Map(
          [...s.live, ...s.replay].filter((m) => m.from !== u).map((m) => [m.seq, m.text]),
        );
        const got = [...merged].sort((a, b) => a[0] - b[0]).map(([q, t]) => `${q} ${t}`);
        const want = expected(u);
        // Unacknowledged sends (cut off by the kill) may have been stored too: they may appear, in place.
        assert.deepEqual(
          got.filter((x) => want.includes(x)),
          want,
          `${u}: every acknowledged message, once, in order`,
        );
      }
    } finally {
      for (const c of clients.values()) await c.close().catch(() => {});
      for (const n of nodes) await n.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
