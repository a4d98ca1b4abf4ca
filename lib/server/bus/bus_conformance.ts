/**
 * Shared conformance suite for `Bus` (rule 8): every implementation registers it with a factory that
 * joins one node per given cluster key and gives an outsider's raw access to the wire (`inject`,
 * `tap`). Delivery rules, then the security rules of issue 33 item 2: an envelope from no key, another
 * key, tampered, replayed, stale or of the wrong shape is refused by every bus, and the wire shows
 * no names or addresses.
 */
import assert from "node:assert/strict";
import type { Bus, BusEvent } from "./bus.ts";
import { BusSeal } from "./seal.ts";
import { ManualClock } from "../../common/clock.ts";
import { until } from "../../common/wait_testing.ts";

export interface BusWorld {
  buses: Bus[];
  /** The scope the buses seal under (their NATS subject, or "memory"). */
  scope: string;
  /** Puts raw bytes on the wire, as a publisher that is no node. */
  inject(wire: Uint8Array): Promise<void>;
  /** Sees every envelope on the wire as bytes, as a listener that is no node; resolves once listening. */
  tap(fn: (wire: Uint8Array) => void): Promise<void>;
  close(): Promise<void>;
}

const settle = (ms = 100) => new Promise((r) => setTimeout(r, ms));
const newKey = () => crypto.getRandomValues(new Uint8Array(32));
const enc = new TextEncoder();

/** Subscribes every bus; got[i] collects what bus i hears. */
async function listen(b: Bus[]): Promise<[string, BusEvent][][]> {
  const got: [string, BusEvent][][] = b.map(() => []);
  b.forEach((x, i) => x.subscribe((from, e) => got[i]!.push([from, e])));
  await settle(50); // subscriptions are live
  return got;
}

/** Registers one case: `keys` is a count of nodes under one fresh key, or each node's key. */
type Case = (
  what: string,
  keys: number | Uint8Array[],
  fn: (b: Bus[], w: BusWorld, key: Uint8Array) => Promise<void>,
) => void;

/** Registers the suite for one implementation (`name`), whose nodes `join` starts. */
export function busConformance(
  name: string,
  join: (keys: Uint8Array[]) => Promise<BusWorld>,
  o: { ignore?: boolean } = {},
): void {
  const t: Case = (what, keys, fn) =>
    Deno.test({ name: `Bus conformance (${name}): ${what}`, ignore: o.ignore ?? false }, async () => {
      const key = newKey();
      const w = await join(typeof keys === "number" ? Array.from({ length: keys }, () => key) : keys);
      try {
        await fn(w.buses, w, key);
      } finally {
        await Promise.all(w.buses.map((b) => b.close()));
        await w.close();
      }
    });
  deliveryCases(t);
  refusalCases(t);
  wireCases(t);
}

/** Delivery: once, in order, never to itself; a closed node is silent. */
function deliveryCases(t: Case): void {
  t("an event reaches every other node once, in the sender's order, never itself", 3, async (b) => {
    const got = await listen(b);
    for (let i = 1; i <= 20; i++) b[0]!.publish({ t: "msg", seq: i });
    b[1]!.publish({ t: "kick", user: "mallory", code: "kicked", reason: "bye" });
    await until(
      () => got[1]!.length === 20 && got[2]!.length === 21 && got[0]!.length === 1,
      "every bus to hear its events",
      3000,
    );
    await settle(50);
    assert.equal(got[0]!.length, 1, "node 0 hears only node 1's kick");
    assert.deepEqual(got[0]![0], [b[1]!.node, { t: "kick", user: "mallory", code: "kicked", reason: "bye" }]);
    const seqs = got[2]!.filter(([f]) => f === b[0]!.node).map(([, e]) => (e as { seq: number }).seq);
    assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(got[1]!.length, 20);
  });

  t(
    "publishTo reaches that node alone, in order among the sender's other events; routed rows open whole",
    3,
    async (b) => {
      const got = await listen(b);
      const to = b[0]!.publishTo?.bind(b[0]);
      assert.ok(to, "every bus sends to one node (bus protocol 4)");
      for (let i = 1; i <= 20; i++) {
        if (i % 2) b[0]!.publish({ t: "msg", seq: i });
        else to(b[1]!.node, { t: "msg", seq: i });
      }
      const row = {
        seq: 22,
        mid: "m",
        sender: "a",
        kind: "user" as const,
        target: "b",
        conv: "d:a:b",
        ts: 1,
      };
      to(b[1]!.node, {
        t: "msg",
        seq: 23,
        packed: [{ ...row, body: Uint8Array.of(7) }],
        skip: [21, 21, 23, 23],
        ep: 4,
      });
      await until(
        () => got[1]!.length === 21 && got[2]!.length === 10,
        "each bus to hear what was sent to it",
        3000,
      );
      await settle(50);
      const seqs = (g: [string, BusEvent][]) => g.map(([, e]) => (e as { seq: number }).seq);
      assert.deepEqual(seqs(got[1]!), [...Array.from({ length: 20 }, (_, i) => i + 1), 23]);
      assert.deepEqual(
        seqs(got[2]!),
        Array.from({ length: 10 }, (_, i) => 2 * i + 1),
        "the others hear none of it",
      );
      const routed = got[1]![20]![1] as Extract<BusEvent, { t: "msg" }>;
      assert.deepEqual({ ...routed, packed: routed.packed?.map((r) => ({ ...r, body: [...r.body] })) }, {
        t: "msg",
        seq: 23,
        packed: [{ ...row, body: [7] }],
        skip: [21, 21, 23, 23],
        ep: 4,
      });
    },
  );

  t("nodes have distinct ids, and a closed node neither sends nor receives", 2, async (b) => {
    assert.notEqual(b[0]!.node, b[1]!.node);
    const got: BusEvent[] = [];
    b[1]!.subscribe((_f, e) => got.push(e));
    await settle(50);
    await b[0]!.close();
    b[0]!.publish({ t: "user", user: "late" });
    await settle();
    assert.deepEqual(got, []);
  });
}

/** What an outsider puts on the wire changes nothing: no key, another key, replays, stale or odd shapes. */
function refusalCases(t: Case): void {
  t("a publisher without the key changes nothing: plain JSON, junk, another key", 2, async (b, w) => {
    const got = await listen(b);
    const role: BusEvent = { t: "role", user: "mallory", role: "admin", note: "you are root now" };
    await w.inject(enc.encode(JSON.stringify({ from: "evil", e: role }))); // what the old bus accepted
    await w.inject(enc.encode("not even JSON"));
    await w.inject(new Uint8Array(200).fill(1));
    await w.inject(new BusSeal({ key: newKey() }, w.scope).seal("evil", role));
    const notice: BusEvent = { t: "push", h: { t: "notice", level: "warn", text: "fake server notice" } };
    await w.inject(new BusSeal({ key: newKey() }, w.scope).seal("evil", notice));
    b[0]!.publish({ t: "user", user: "real" }); // the bus still works
    await until(() => got[1]!.length === 1, "bus 1 to hear the event", 3000);
    await settle();
    assert.deepEqual(got[1], [[b[0]!.node, { t: "user", user: "real" }]]);
    assert.deepEqual(got[0], []);
  });

  t("nodes under different cluster keys do not hear each other", [newKey(), newKey()], async (b) => {
    const got = await listen(b);
    b[0]!.publish({ t: "kick", user: "bob", code: "kicked", reason: "x" });
    b[1]!.publish({ t: "kick", user: "alice", code: "kicked", reason: "x" });
    await settle(200);
    assert.deepEqual(got, [[], []]);
  });

  t("a captured envelope replayed, or with one byte changed, is refused", 2, async (b, w) => {
    const wires: Uint8Array[] = [];
    await w.tap((x) => wires.push(x));
    const got = await listen(b);
    b[0]!.publish({ t: "kick", user: "bob", code: "kicked", reason: "once" });
    await until(
      () => got[1]!.length === 1 && wires.length >= 1,
      "bus 1 to hear the event and the wire to carry it",
      3000,
    );
    const kick = wires[0]!;
    await w.inject(kick); // replay
    for (const i of [0, 5, 20, kick.length - 1, Math.floor(kick.length / 2)]) {
      const bad = kick.slice();
      bad[i]! ^= 0x40;
      await w.inject(bad);
    }
    await settle(200);
    assert.equal(got[1]!.length, 1, "the kick is acted on once");
  });

  t("an envelope sealed under the key but stale, or of the wrong shape, is refused", 2, async (b, w, key) => {
    const got = await listen(b);
    const old = new ManualClock(Date.now() - 120_000);
    await w.inject(new BusSeal({ key, clock: old }, w.scope).seal("n9", { t: "user", user: "old" }));
    const odd = { t: "role", user: "mallory", role: "root", note: "" } as unknown as BusEvent;
    await w.inject(new BusSeal({ key }, w.scope).seal("n9", odd));
    const extra = { t: "msg", seq: 1, evil: true } as unknown as BusEvent;
    await w.inject(new BusSeal({ key }, w.scope).seal("n9", extra));
    await w.inject(new BusSeal({ key }, w.scope).seal("n9", { t: "user", user: "fresh" }));
    await until(() => got[0]!.length === 1 && got[1]!.length === 1, "buses 0 and 1 to hear the event", 3000);
    await settle();
    assert.deepEqual(got[0], [["n9", { t: "user", user: "fresh" }]]);
  });
}

/** What travels: file events with valid fids only, and nothing readable on the wire. */
function wireCases(t: Case): void {
  t("a file event travels; one naming a path for its fid is refused", 2, async (b, w, key) => {
    const got = await listen(b);
    const bad = { t: "file", op: "changed", fid: "../../../etc/passwd" } as BusEvent;
    await w.inject(new BusSeal({ key }, w.scope).seal("n9", bad));
    b[0]!.publish({ t: "file", op: "changed", fid: "abcdEFGH-123" });
    await until(() => got[1]!.length === 1, "bus 1 to hear the event", 3000);
    await settle();
    assert.deepEqual(got[1], [[b[0]!.node, { t: "file", op: "changed", fid: "abcdEFGH-123" }]]);
    assert.deepEqual(got[0], []);
  });

  t("a listener on the wire sees no names, addresses or notices in clear", 2, async (b, w) => {
    const wires: Uint8Array[] = [];
    await w.tap((x) => wires.push(x));
    const got = await listen(b);
    b[0]!.publish({
      t: "presence",
      users: [{ user: "carol-sniffed", addr: "203.0.113.77:5555", since: 1, status: "free", role: "user" }],
    });
    b[0]!.publish({ t: "push", h: { t: "notice", level: "info", text: "secret-announcement" } });
    await until(
      () => got[1]!.length === 2 && wires.length >= 2,
      "bus 1 to hear both events and the wire to carry them",
      3000,
    );
    const seen = wires.map((x) => new TextDecoder("latin1").decode(x)).join("\n");
    for (const s of ["carol-sniffed", "203.0.113.77", "secret-announcement", "presence", b[0]!.node]) {
      assert.ok(!seen.includes(s), `"${s}" is not on the wire in clear`);
    }
  });
}
