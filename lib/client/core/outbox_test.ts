import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { BackendError, type OutboxEntry, type Target } from "../backend.ts";
import { LocalStore } from "../session/local_store.ts";
import { Outbox, outboxControls, POISON_DROPS } from "./outbox.ts";

const bob: Target = { kind: "user", name: "bob" };
const fresh = () => {
  const clock = new ManualClock(1_000_000);
  return { clock, box: new Outbox(new LocalStore(":memory:"), "alice", clock) };
};

Deno.test("Outbox: an entry has the clock's time and waits in order; settled with a seq it joins the history", () => {
  const { clock, box } = fresh();
  const a = box.create(bob, "first");
  clock.advance(5);
  const b = box.create(bob, "second", { replyTo: a.mid });
  assert.equal(a.ts, 1_000_000);
  assert.equal(b.ts, 1_000_005);
  assert.deepEqual(box.waiting().map((p) => p.text), ["first", "second"]);
  assert.deepEqual(box.messages().map((m) => [m.text, m.pending, m.seq, m.from, m.replyTo]), [
    ["first", true, 0, "alice", undefined],
    ["second", true, 0, "alice", a.mid],
  ]);
  box.settle({ ...a, seq: 7, from: "alice" });
  assert.deepEqual(box.waiting().map((p) => p.mid), [b.mid]);
  assert.equal(box.store.byMidAny(a.mid)?.seq, 7, "confirmed into the history");
  box.settle({ ...b, seq: 0, from: "alice" });
  assert.equal(box.count(), 0, "an answer without seq just leaves");
});

Deno.test("Outbox: a one-shot entry is not listed; drop N removes a listed one", () => {
  const { box } = fresh();
  box.create(bob, "scripted", { resend: false });
  assert.equal(box.count(), 0);
  const kept = box.create(bob, "kept");
  const n = box.list()[0]!.n;
  assert.equal(box.drop(n)?.mid, kept.mid);
  assert.equal(box.drop(n), null);
  assert.equal(box.has(kept.mid), false);
});

Deno.test("Outbox.sendFailed: refused for good → failed; one-shot or answered → gone; offline → kept until the poison limit", () => {
  const { box } = fresh();
  const refusal = new BackendError("frame_too_large", "too big");
  const a = box.create(bob, "huge");
  assert.equal(box.sendFailed(a.mid, refusal, { kept: true, offline: false, maxFrame: 1024 }), refusal);
  assert.deepEqual(box.messages().map((m) => m.failed), ["too big"]);
  assert.equal(box.failedCount(), 1);
  assert.equal(box.count(), 0, "a failed entry is not sent again");

  const b = box.create(bob, "answered");
  const other = new BackendError("no_such_user", "no");
  assert.equal(box.sendFailed(b.mid, other, { kept: true, offline: false, maxFrame: 1024 }), other);
  assert.equal(box.has(b.mid), false, "the server answered: nothing to keep");

  const c = box.create(bob, "cut off");
  const lost = new Error("connection lost");
  for (let i = 1; i < POISON_DROPS; i++) {
    assert.equal(box.sendFailed(c.mid, lost, { kept: true, offline: true, maxFrame: 1024 }), lost);
    assert.ok(box.waiting().some((p) => p.mid === c.mid), `kept after drop ${i}`);
  }
  const last = box.sendFailed(c.mid, lost, { kept: true, offline: true, maxFrame: 1024 });
  assert.equal((last as BackendError).code, "frame_too_large");
  assert.match(box.list().find((e) => e.mid === c.mid)!.failed!, /dropped each of the 3 times.*1024 bytes/);
});

Deno.test("Outbox.waitingOne: an entry of waiting(), read alone — not a failed one, nor a one-shot send's", () => {
  const { box } = fresh();
  const a = box.create(bob, "kept"), b = box.create(bob, "one-shot", { resend: false });
  const c = box.create(bob, "failed");
  box.fail(c.mid, "too long");
  assert.equal(box.waitingOne(a.mid)?.text, "kept");
  assert.equal(box.waitingOne(b.mid), undefined);
  assert.equal(box.waitingOne(c.mid), undefined);
  assert.deepEqual(box.waiting().map((p) => p.mid), [a.mid]);
});

Deno.test("outboxControls: with what else waits (a peer's file offers), one numbering oldest first; a drop takes that entry", async () => {
  const { clock, box } = fresh();
  const first = box.create(bob, "first");
  clock.advance(10);
  const later = box.create(bob, "later");
  let files: OutboxEntry[] = [{
    n: 0,
    mid: "f1",
    ts: 1_000_005,
    to: bob,
    text: "file a.txt (3 B)",
    kind: "file",
  }];
  const withdrawn: string[] = [];
  const also = { list: () => files, drop: (mid: string) => void withdrawn.push(mid) };
  const o = outboxControls(() => box, also);
  assert.deepEqual((await o.list()).map((e) => [e.n, e.mid]), [[1, first.mid], [2, "f1"], [3, later.mid]]);
  assert.equal(o.count(), 3);
  assert.equal((await o.drop(2))?.mid, "f1", "entry 2 of the one numbering: the file offer");
  assert.deepEqual(withdrawn, ["f1"], "taken back, not an outbox row");
  files = [];
  assert.equal((await o.drop(2))?.mid, later.mid, "numbered again: the later text is 2 now");
  assert.equal(box.has(later.mid), false);
  assert.equal(box.has(first.mid), true);
  // Alone, the outbox numbers its entries itself (client mode's /outbox, unchanged).
  const alone = outboxControls(() => box);
  const n = box.list()[0]!.n;
  assert.deepEqual((await alone.list()).map((e) => e.n), [n]);
});
