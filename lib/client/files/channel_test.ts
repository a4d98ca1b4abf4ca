/**
 * File controls and records wake the transfers waiting for them: at once in this process, through the
 * folder's one watcher from another (no polling loop of their own).
 */
import assert from "node:assert/strict";
import { MemoryCryptoStore } from "../../crypto/state_store.ts";
import { ControlRegistry, type SealedChannel } from "../e2e/controls.ts";
import { fileOps, READY, registerFileControls } from "./channel.ts";
import { BOOK_KEY } from "./book.ts";
import { encodeFileReady, encodeFileSum } from "./offer.ts";
import { watchFolder } from "../e2e/mod.ts";
import { LocalStore, WATCH_MS } from "../session/local_store.ts";
import { systemClock } from "../../common/clock.ts";
import { ManualTimers } from "../../common/clock_testing.ts";

function channel() {
  const controls = new ControlRegistry();
  const register: SealedChannel["register"] = (kind, h) => controls.register(kind, h);
  const ch = { register, notify() {} } as unknown as SealedChannel;
  registerFileControls(ch);
  return { ch, controls, ops: fileOps(ch) };
}

const ctx = () => ({
  from: "bob",
  mid: "m1",
  at: 0,
  cs: new MemoryCryptoStore(),
  verified: () => Promise.resolve(false),
});

Deno.test("files channel: a SHA-256 or a direct-path candidate filed here wakes a waiter at once", async () => {
  const { controls, ops } = channel();
  const payloads = [
    encodeFileSum("m1", "fid-0000001", "a".repeat(64)),
    encodeFileReady("m1", { fid: "fid-0000001", host: "127.0.0.1", port: 4000, token: "A".repeat(43) + "=" }),
  ];
  for (const p of payloads) {
    const t0 = performance.now();
    const waiting = ops.filed(30_000);
    (await controls.lookup(p, "m1")!(ctx())).after?.();
    await waiting;
    assert.ok(performance.now() - t0 < 5_000, "woken, not timed out");
  }
});

Deno.test("files channel: a direct-path candidate is filed apart from the transfer records, and goes once taken", async () => {
  const { controls } = channel();
  const c = ctx();
  const ready = encodeFileReady("m1", {
    fid: "fid-0000001",
    host: "127.0.0.1",
    port: 4000,
    token: "A".repeat(43) + "=",
  });
  const out = await controls.lookup(ready, "m1")!(c);
  assert.deepEqual(Object.keys(out.writes!.put), [READY.key], "one mailbox value, not the book");
  assert.deepEqual(out.writes!.del, []);
  await c.cs.commit(out.writes!);
  assert.equal(await c.cs.get(BOOK_KEY), undefined, "no record written");
  const t = await READY.take(c.cs, "bob", "fid-0000001");
  assert.equal(t?.value.port, 4000);
  await c.cs.commit(t!.writes);
  assert.equal(await READY.get(c.cs, "bob", "fid-0000001"), undefined, "taken by its waiter");
});

Deno.test("files channel: with nothing filed, a waiter goes on after its time (another process may have filed it)", async () => {
  const { ops } = channel();
  const t0 = performance.now();
  await ops.filed(30);
  assert.ok(performance.now() - t0 >= 25);
});

Deno.test("files channel: a record changed through update() wakes a waiter of this process at once", async () => {
  const { ch, ops } = channel();
  const cs = new MemoryCryptoStore();
  (ch as unknown as { locked: SealedChannel["locked"] }).locked = (fn) => fn(cs);
  const waiting = ops.filed(30_000);
  let woken = false;
  void waiting.then(() => woken = true);
  await ops.update((b) => ({ ...b, in: [] }));
  await Promise.resolve();
  assert.ok(woken, "woken by the write, before any timer");
  await waiting;
});

Deno.test("files channel: another process's commit wakes a waiter through the folder's one watcher (local_store.ts nextForeign)", async () => {
  const dir = await Deno.makeTempDir();
  const timers = new ManualTimers();
  const a = new LocalStore(`${dir}/f.db`, systemClock, timers), b = new LocalStore(`${dir}/f.db`);
  const woken = (p: Promise<void>) => {
    const w = { done: false };
    void p.then(() => w.done = true);
    return w;
  };
  try {
    const { ch, ops } = channel();
    watchFolder(ch, (l) => a.nextForeign(l));
    const waiting = ops.filed(30_000);
    const first = woken(waiting);
    b.db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)"); // another connection: another process
    await Promise.resolve();
    assert.ok(!first.done, "not before the watcher looks");
    timers.advance(WATCH_MS);
    await waiting;
    const second = ops.filed(30_000);
    b.db.exec("INSERT INTO t VALUES (2)");
    await a.exclusive(() => Promise.resolve()); // this process takes the lock first: the change is still told
    await second; // no timer moved: told by the lock
    const aborted = new AbortController();
    const idle = ops.filed(30_000, aborted.signal);
    aborted.abort();
    await idle; // nothing left behind: no timer, no watcher (the test's sanitizers)
    assert.equal(timers.pending, 0, "the watcher's timer is gone with its last waiter");
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
