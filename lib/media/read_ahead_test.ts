import assert from "node:assert/strict";
import { readAhead } from "./read_ahead.ts";

/** A source of `n` frames of `size` bytes (frame i filled with i) that counts its pulls. */
function counted(n: number, size = 10, failAt = -1) {
  const s = { pulls: 0, returned: false };
  const it: AsyncIterator<Uint8Array> = {
    next() {
      const i = s.pulls++;
      if (i === failAt) return Promise.reject(new Error("ffmpeg broke"));
      if (i >= n) return Promise.resolve({ done: true, value: undefined });
      return Promise.resolve({ done: false, value: new Uint8Array(size).fill(i) });
    },
    return() {
      s.returned = true;
      return Promise.resolve({ done: true, value: undefined });
    },
  };
  return { state: s, source: { [Symbol.asyncIterator]: () => it } as AsyncIterable<Uint8Array> };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
};

Deno.test("readAhead: every frame, in order, then the end", async () => {
  const { source } = counted(7);
  const got: number[] = [];
  for await (const f of readAhead(source, { maxFrames: 3 })) got.push(f[0]!);
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6]);
});

Deno.test("readAhead: pulls up to maxFrames ahead, then waits until the consumer took half", async () => {
  const { state, source } = counted(100);
  const it = readAhead(source, { maxFrames: 4 })[Symbol.asyncIterator]();
  assert.equal((await it.next()).value![0], 0);
  await settle();
  assert.equal(state.pulls, 5, "frame 0 taken, four more held");
  await it.next(); // 3 held: above half of 4
  await settle();
  assert.equal(state.pulls, 5, "no refill above half");
  await it.next(); // 2 held: half → refill up to 4
  await settle();
  assert.equal(state.pulls, 7);
  await it.return!();
});

Deno.test("readAhead: the byte mark bounds the queue too", async () => {
  const { state, source } = counted(100, 1000);
  const it = readAhead(source, { maxBytes: 3000, maxFrames: 50 })[Symbol.asyncIterator]();
  await it.next();
  await settle();
  assert.equal(state.pulls, 4, "one taken, 3000 bytes held");
  await it.return!();
});

Deno.test("readAhead: a source error comes after the frames before it", async () => {
  const { source } = counted(10, 10, 3);
  const got: number[] = [];
  await assert.rejects(async () => {
    for await (const f of readAhead(source, { maxFrames: 8 })) got.push(f[0]!);
  }, /ffmpeg broke/);
  assert.deepEqual(got, [0, 1, 2]);
});

Deno.test("readAhead: a consumer that stops ends the pulling and returns the source", async () => {
  const { state, source } = counted(1000);
  for await (const f of readAhead(source, { maxFrames: 6 })) if (f[0] === 1) break;
  await settle();
  const pulls = state.pulls;
  await settle();
  assert.equal(state.pulls, pulls);
  assert.ok(pulls <= 8, `pulled ${pulls}`);
  assert.equal(state.returned, true);
});
