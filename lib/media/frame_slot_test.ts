import assert from "node:assert/strict";
import fc from "fast-check";
import { LatestSlot } from "./frame_slot.ts";

Deno.test("LatestSlot.offer() replaces an undelivered value and counts the drop", async () => {
  const s = new LatestSlot<number>();
  s.offer(1);
  s.offer(2);
  s.offer(3);
  assert.equal(await s.take(), 3);
  assert.equal(s.dropped, 2);
  assert.equal(s.delivered, 1);
});

Deno.test("LatestSlot.take() waits for the next offer", async () => {
  const s = new LatestSlot<string>();
  const p = s.take();
  s.offer("a");
  assert.equal(await p, "a");
  assert.equal(s.dropped, 0);
});

Deno.test("LatestSlot.close() ends waiting takers with null after the held value", async () => {
  const s = new LatestSlot<number>();
  s.offer(7);
  s.close();
  assert.equal(await s.take(), 7);
  assert.equal(await s.take(), null);
  const t = new LatestSlot<number>();
  const p = t.take();
  t.close();
  assert.equal(await p, null);
});

Deno.test("LatestSlot.whenEmpty() resolves once the value is taken", async () => {
  const s = new LatestSlot<number>();
  s.offer(1);
  let done = false;
  const w = s.whenEmpty().then(() => (done = true));
  await Promise.resolve();
  assert.equal(done, false);
  await s.take();
  await w;
  assert.equal(done, true);
});

Deno.test("LatestSlot holds at most one value: delivered + dropped = offered (fast-check)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.boolean(), { maxLength: 60 }), async (ops) => {
      const s = new LatestSlot<number>();
      let offered = 0;
      for (const op of ops) {
        if (op) s.offer(offered++);
        else if (s.full) await s.take();
      }
      const held = s.full ? 1 : 0;
      assert.equal(s.delivered + s.dropped + held, offered);
    }),
  );
});

Deno.test("LatestSlot(depth 3) holds three in order, then drops the oldest; take() empties it oldest first", async () => {
  const s = new LatestSlot<number>(3);
  for (const v of [1, 2, 3]) s.offer(v);
  assert.equal(s.dropped, 0);
  assert.equal(s.full, true);
  s.offer(4);
  assert.equal(s.dropped, 1);
  assert.deepEqual([await s.take(), await s.take(), await s.take()], [2, 3, 4]);
  assert.equal(s.size, 0);
  let emptied = false;
  s.offer(5);
  s.offer(6);
  const w = s.whenEmpty().then(() => (emptied = true));
  await s.take();
  await Promise.resolve();
  assert.equal(emptied, false, "one still held");
  await s.take();
  await w;
  assert.equal(emptied, true);
  assert.throws(() => new LatestSlot(0), RangeError);
});
