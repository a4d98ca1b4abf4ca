/**
 * `receive`'s wait for an offer (issue 36): woken by the offer event, not by looking every 200 ms;
 * an offer filed while it looks is not missed; the keystore is looked at on its own only every
 * OFFER_LOOK_MS (offers another process of the folder filed).
 */
import assert from "node:assert/strict";
import type { BackendEvent } from "../backend.ts";
import type { InRecord } from "../files/book.ts";
import { OFFER_LOOK_MS, waitForOffers } from "./files_receive.ts";

function fakeClient() {
  const ls = new Set<(e: BackendEvent) => void>();
  return {
    on(l: (e: BackendEvent) => void) {
      ls.add(l);
      return () => void ls.delete(l);
    },
    offer: () => {
      for (const l of [...ls]) l({ type: "file.offer", offer: {} } as unknown as BackendEvent);
    },
    listening: () => ls.size,
  };
}

const rec = { fid: "f1", name: "a.bin", from: "alice", state: "offered" } as InRecord;

Deno.test("waitForOffers: no offer for a second looks once or twice, not every 200 ms", async () => {
  const c = fakeClient();
  let looks = 0;
  const got = await waitForOffers(
    c,
    performance.now() + 1000,
    () => (looks++, Promise.resolve([])),
    () => performance.now(),
  );
  assert.deepEqual(got, []);
  assert.ok(looks <= 2, `${looks} looks in 1 s`);
  assert.equal(c.listening(), 0, "stops listening");
});

Deno.test("waitForOffers: a timer that fires a little before the end makes no extra looks", async () => {
  // The clock runs 1 % slower than the timers (a timeout may fire a little early against it): the
  // wait that runs to the end is the last one, not followed by a look every few ms till `end`.
  const c = fakeClient();
  let looks = 0;
  const t0 = performance.now();
  const now = () => t0 + (performance.now() - t0) * 0.99;
  const got = await waitForOffers(c, now() + 300, () => (looks++, Promise.resolve([])), now, 100);
  assert.deepEqual(got, []);
  assert.ok(looks <= 4, `${looks} looks in 300 ms with a look every 100 ms`);
});

Deno.test("waitForOffers: an offer event wakes it at once, even one filed during the first look", async () => {
  for (const during of [false, true]) {
    const c = fakeClient();
    let looks = 0, there = false;
    const mine = () => {
      // During: the offer is filed (and said) while the first look reads the keystore, too late for it.
      if (during && looks++ === 0) return (c.offer(), there = true, Promise.resolve([]));
      return Promise.resolve(there ? [rec] : []);
    };
    const start = performance.now();
    const waiting = waitForOffers(c, start + 10_000, mine, () => performance.now());
    let at = start;
    if (!during) {
      await new Promise((r) => setTimeout(r, 50));
      at = performance.now();
      there = true;
      c.offer();
    }
    assert.deepEqual(await waiting, [rec]);
    const took = performance.now() - at;
    assert.ok(took < 100, `${took.toFixed(0)} ms after the offer (during the look: ${during})`);
  }
  assert.ok(OFFER_LOOK_MS >= 1000, "the look on its own is rare");
});
