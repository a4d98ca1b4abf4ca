/**
 * Shared conformance suite for `Bus` (rule 8): every implementation registers it with a factory that
 * joins `n` fresh nodes of one cluster.
 */
import assert from "node:assert/strict";
import type { Bus, BusEvent } from "./bus.ts";

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

export function busConformance(
  name: string,
  join: (n: number) => Promise<Bus[]>,
  o: { ignore?: boolean } = {},
): void {
  const t = (what: string, n: number, fn: (b: Bus[]) => Promise<void>) =>
    Deno.test({ name: `Bus conformance (${name}): ${what}`, ignore: o.ignore ?? false }, async () => {
      const buses = await join(n);
      try {
        await fn(buses);
      } finally {
        await Promise.all(buses.map((b) => b.close()));
      }
    });

  t("an event reaches every other node once, in the sender's order, never itself", 3, async (b) => {
    const got: [string, BusEvent][][] = b.map(() => []);
    b.forEach((x, i) => x.subscribe((from, e) => got[i]!.push([from, e])));
    await new Promise((r) => setTimeout(r, 50)); // subscriptions are live
    for (let i = 1; i <= 20; i++) b[0]!.publish({ t: "msg", seq: i });
    b[1]!.publish({ t: "kick", user: "mallory", code: "kicked", reason: "bye" });
    await until(() => got[1]!.length === 20 && got[2]!.length === 21 && got[0]!.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got[0]!.length, 1, "node 0 hears only node 1's kick");
    assert.deepEqual(got[0]![0], [b[1]!.node, { t: "kick", user: "mallory", code: "kicked", reason: "bye" }]);
    const seqs = got[2]!.filter(([f]) => f === b[0]!.node).map(([, e]) => (e as { seq: number }).seq);
    assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(got[1]!.length, 20);
  });

  t("nodes have distinct ids, and a closed node neither sends nor receives", 2, async (b) => {
    assert.notEqual(b[0]!.node, b[1]!.node);
    const got: BusEvent[] = [];
    b[1]!.subscribe((_f, e) => got.push(e));
    await new Promise((r) => setTimeout(r, 50));
    await b[0]!.close();
    b[0]!.publish({ t: "user", user: "late" });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(got, []);
  });
}
