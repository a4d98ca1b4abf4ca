/**
 * `receive`'s wait for an offer (issues 36, 70): it looks again only when something may have changed
 * — an offer this process files (files/channel.ts: the offer handler's `wake`), a commit of another
 * process of the folder (session/local_store.ts `nextForeign`, the folder's one change signal) — and
 * once more when its time is up; never on a poll of its own. Timers are ManualTimers: no wall time.
 */
import assert from "node:assert/strict";
import { MemoryCryptoStore } from "../../crypto/state_store.ts";
import { ManualTimers } from "../../common/clock_testing.ts";
import { systemClock } from "../../common/clock.ts";
import { ControlRegistry, type SealedChannel, watchFolder } from "../e2e/controls.ts";
import { fileOps, registerFileControls } from "../files/channel.ts";
import { type InRecord, readBook } from "../files/book.ts";
import { encodeFileOffer } from "../files/offer.ts";
import { LocalStore, WATCH_MS } from "../session/local_store.ts";
import { waitForOffers } from "./files_receive.ts";

/** A sealed channel with the file kinds registered, as e2e_attach.ts makes one. */
function channel() {
  const controls = new ControlRegistry();
  const register: SealedChannel["register"] = (kind, h) => controls.register(kind, h);
  const ch = { register, notify() {} } as unknown as SealedChannel;
  registerFileControls(ch);
  const ops = fileOps(ch);
  return { ch, controls, changed: (signal: AbortSignal) => ops.filed(Infinity, signal) };
}

/** Lets every promise ready to go on run (one turn of the event loop; no time waited). */
const settle = () => new Promise((r) => setTimeout(r, 0));

/** Whether `p` has settled, seen at any later moment. */
function watched<T>(p: Promise<T>) {
  const w: { done: boolean; value?: T } = { done: false };
  void p.then((v) => (w.done = true, w.value = v));
  return w;
}

const rec = { fid: "f1", name: "a.bin", from: "alice", state: "offered" } as InRecord;

Deno.test("waitForOffers: an offer another process of the folder files wakes it at the watcher's next look, with no poll", async () => {
  const dir = await Deno.makeTempDir();
  const timers = new ManualTimers();
  const a = new LocalStore(`${dir}/f.db`, systemClock, timers), b = new LocalStore(`${dir}/f.db`);
  try {
    a.db.exec("CREATE TABLE offers (fid TEXT)");
    const { ch, changed } = channel();
    watchFolder(ch, (l) => a.nextForeign(l));
    let looks = 0;
    const mine = () => {
      looks++;
      return Promise.resolve(a.db.prepare("SELECT fid FROM offers").all().length ? [rec] : []);
    };
    const w = watched(waitForOffers(changed, 600_000, mine, timers));
    await settle();
    timers.advance(WATCH_MS * 200); // 10 s of nothing filed
    await settle();
    assert.equal(looks, 1, "nothing changed: no look after the first");
    b.db.exec("INSERT INTO offers VALUES ('f1')"); // another connection: another process files an offer
    timers.advance(WATCH_MS);
    await settle();
    assert.ok(w.done, "woken at the watcher's next look");
    assert.deepEqual(w.value, [rec]);
    assert.equal(looks, 2);
    assert.equal(timers.pending, 0, "no timer left: the deadline cleared, the watcher stopped");
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("waitForOffers: an offer this process files wakes it at once, even one filed during the first look", async () => {
  for (const during of [false, true]) {
    const { controls, changed } = channel();
    const cs = new MemoryCryptoStore();
    const file = async () => {
      const offer = {
        fid: "fid-0000001",
        name: "a.bin",
        size: 1,
        key: new Uint8Array(32),
        sha256: "a".repeat(64),
      };
      const ctx = { from: "alice", mid: "m1", at: 0, cs, verified: () => Promise.resolve(false) };
      const out = await controls.lookup(encodeFileOffer("m1", offer), "m1")!(ctx);
      await cs.commit(out.writes!);
      out.after?.(); // as the codec runs it once the writes are committed
    };
    let looks = 0;
    const mine = async () => {
      const found = (await readBook(cs)).in;
      if (during && looks++ === 0) await file(); // filed after this look read the book: too late for it
      return found;
    };
    const timers = new ManualTimers();
    const w = watched(waitForOffers(changed, 600_000, mine, timers));
    await settle();
    if (!during) await file();
    await settle();
    assert.ok(w.done, `woken with no timer moved (during the look: ${during})`);
    assert.deepEqual(w.value?.map((r) => r.fid), ["fid-0000001"]);
    assert.equal(timers.pending, 0);
  }
});

Deno.test("waitForOffers: with nothing filed, one look at the start and one when the time is up", async () => {
  const { changed } = channel();
  const timers = new ManualTimers();
  let looks = 0;
  const w = watched(waitForOffers(changed, 5_000, () => (looks++, Promise.resolve([])), timers));
  await settle();
  timers.advance(4_999);
  await settle();
  assert.ok(!w.done);
  timers.advance(1);
  await settle();
  assert.deepEqual(w.value, []);
  assert.equal(looks, 2);
  assert.deepEqual(timers.asked, [5_000], "one timer: the deadline");
  looks = 0;
  assert.deepEqual(await waitForOffers(changed, 0, () => (looks++, Promise.resolve([])), timers), []);
  assert.equal(looks, 1, "no time to wait: one look");
});
