/**
 * KeptSends (kept_sends.ts) over an outbox in memory and a scripted `sendOne`: order, one at a time,
 * what a failure does to the entry and to the lane, the retry while the server cannot store messages.
 * No server, no timer: the retry's timers are held by the test.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock } from "../../common/clock.ts";
import { BackendError, type ChatMessage, type Target } from "../backend.ts";
import { LocalStore, type PendingMessage } from "../session/local_store.ts";
import { KeptSends } from "./kept_sends.ts";
import { Outbox } from "./outbox.ts";

const bob: Target = { kind: "user", name: "bob" };

/** A relay's hand-over: the server's answer, handed and taken at once (as chat_client.ts's port). */
const answered = (send: (p: PendingMessage) => Promise<ChatMessage>) => async (p: PendingMessage) => ({
  taken: Promise.resolve(await send(p)),
});

/** A script of answers by text: "ok", or the error to throw; `offline` turns true with "gone". */
function rig(answers: Record<string, "ok" | Error> = {}) {
  const box = new Outbox(new LocalStore(":memory:"), "alice", new ManualClock(1_000_000));
  const sent: string[] = [], told: string[] = [], notices: string[] = [], timers: (() => void)[] = [];
  let offline = false, seq = 0, inFlight = 0;
  const kept = new KeptSends({
    me: "alice",
    outbox: box,
    check: () => Promise.resolve(),
    sendOne: answered(async (p: PendingMessage): Promise<ChatMessage> => {
      inFlight++;
      assert.equal(inFlight, 1, "one send at a time");
      sent.push(p.text);
      await Promise.resolve();
      inFlight--;
      const a = answers[p.text] ?? "ok";
      if (a instanceof Error) {
        if (a.message === "gone") offline = true;
        const kept = !(a instanceof BackendError && a.code === "invalid");
        if (!kept) box.fail(p.mid, a.message); // as sending.ts's sendFailed marks a refusal for good
        throw a;
      }
      const m = { ...p, seq: ++seq, from: "alice" };
      box.settle(m);
      return m;
    }),
    offline: () => offline,
    notice: (_level, text) => notices.push(text),
    confirmed: () => {},
    timers: { set: (f) => timers.push(f), clear: () => {} },
  });
  const resume = () => kept.resume((m) => told.push(`${m.text}:${m.failed ?? "ok"}`));
  const settled = () => new Promise((r) => setTimeout(r, 0));
  return { box, kept, sent, told, notices, timers, resume, settled, online: () => (offline = false) };
}

Deno.test("kept sends: what the outbox holds leaves on resume, in order, one at a time; a new text goes behind it", async () => {
  const r = rig();
  r.box.create(bob, "one");
  r.box.create(bob, "two");
  r.resume();
  const m = await r.kept.send(bob, "three", false);
  assert.equal(m.seq, 3);
  assert.deepEqual(r.sent, ["one", "two", "three"]);
  assert.deepEqual(r.told, ["one:ok", "two:ok"], "the resent ones are told; the caller gets its own");
  assert.equal(r.box.count(), 0);
});

Deno.test("kept sends: on a connection not caught up yet, a text waits for the lane and leaves behind what the outbox holds", async () => {
  const r = rig();
  r.box.create(bob, "older");
  let got: ChatMessage | null = null;
  const sending = r.kept.send(bob, "newer", false).then((m) => (got = m));
  await r.settled();
  assert.equal(got, null, "not answered pending: the connection is up");
  assert.deepEqual(r.sent, []);
  r.resume();
  await sending;
  assert.deepEqual(r.sent, ["older", "newer"]);
  assert.equal(got!.seq, 2);
});

Deno.test("kept sends: a resend refused for good is shown failed and said; the next goes", async () => {
  const r = rig({ two: new BackendError("invalid", "malformed") });
  for (const t of ["one", "two", "three"]) r.box.create(bob, t);
  r.resume();
  await r.settled();
  assert.deepEqual(r.sent, ["one", "two", "three"]);
  assert.deepEqual(r.told, ["one:ok", "two:malformed", "three:ok"]);
  assert.equal(r.notices.length, 1);
  assert.match(
    r.notices[0]!,
    /Not sent, and never will be: "two": malformed \(\/outbox drop \d+ removes it\)/,
  );
});

Deno.test("kept sends: the connection lost mid-resend stops the lane; the rest waits, sent again on the next resume", async () => {
  const answers: Record<string, "ok" | Error> = { two: new Error("gone") };
  const r = rig(answers);
  for (const t of ["one", "two", "three"]) r.box.create(bob, t);
  r.resume();
  await r.settled();
  assert.deepEqual(r.sent, ["one", "two"]);
  assert.equal(await r.kept.send(bob, "four", true).then((m) => m.pending), true, "pending while offline");
  delete answers.two;
  r.online();
  r.resume();
  await r.settled();
  assert.deepEqual(r.sent, ["one", "two", "two", "three", "four"], "same entries, in order");
  assert.equal(r.box.count(), 0);
});

Deno.test("kept sends: 'the server cannot store messages' keeps the entry, says so once, and the retry sends it", async () => {
  const answers: Record<string, "ok" | Error> = { one: new BackendError("unavailable", "store down") };
  const r = rig(answers);
  r.resume();
  const first = await r.kept.send(bob, "one", false);
  assert.equal(first.pending, true, "answered pending");
  assert.equal((await r.kept.send(bob, "two", false)).pending, true, "behind it, pending at once");
  assert.equal(r.notices.length, 1);
  assert.deepEqual(r.sent, ["one"]);
  assert.equal(r.timers.length, 1, "one retry");
  delete answers.one;
  r.timers.shift()!();
  await r.settled();
  assert.deepEqual(r.sent, ["one", "one", "two"]);
  assert.deepEqual(r.told, ["one:ok", "two:ok"]);
  assert.equal(r.notices.length, 1, "said once");
});

Deno.test("kept sends: after a store-down retry whose entry was refused for good, a new text still goes", async () => {
  const answers: Record<string, "ok" | Error> = { one: new BackendError("unavailable", "store down") };
  const r = rig(answers);
  r.resume();
  assert.equal((await r.kept.send(bob, "one", false)).pending, true);
  answers.one = new BackendError("invalid", "refused for good");
  r.timers.shift()!(); // the retry: "one" is refused for good now, the lane stays up
  await r.settled();
  assert.equal((await r.kept.send(bob, "two", false)).seq, 1, "sent, not left pending in the outbox");
  assert.deepEqual(r.sent, ["one", "one", "two"]);
});

Deno.test("kept sends: the caller's own text refused for good is removed and the caller gets the refusal", async () => {
  const r = rig({ bad: new BackendError("invalid", "malformed") });
  r.resume();
  await assert.rejects(r.kept.send(bob, "bad", false), /malformed/);
  assert.equal(r.box.list().length, 0, "removed: the user was told now");
  assert.equal((await r.kept.send(bob, "good", false)).seq, 1, "the lane goes on");
});

Deno.test("kept sends, fuzzed: whatever the connection and the server do, each text is taken once, in order, or refused", async () => {
  type Step = { k: "send" } | { k: "lose" } | { k: "resume" } | { k: "retry" } | {
    k: "answer";
    a: "ok" | "gone" | "later" | "refuse";
  };
  const step = fc.oneof(
    fc.constant<Step>({ k: "send" }),
    fc.constant<Step>({ k: "lose" }),
    fc.constant<Step>({ k: "resume" }),
    fc.constant<Step>({ k: "retry" }),
    fc.constantFrom("ok", "gone", "later", "refuse").map((a): Step => ({ k: "answer", a })),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
      const box = new Outbox(new LocalStore(":memory:"), "alice", new ManualClock(1_000_000));
      const taken: string[] = [], rejected: string[] = [], timers: (() => void)[] = [];
      let answer: "ok" | "gone" | "later" | "refuse" = "ok", offline = false, n = 0, seq = 0;
      const kept = new KeptSends({
        me: "alice",
        outbox: box,
        check: () => Promise.resolve(),
        // As sending.ts's sendText: the outbox settles an answer, and decides on a failure (sendFailed).
        sendOne: answered(async (p) => {
          await Promise.resolve();
          if (offline || answer === "ok") {
            if (offline) {
              throw box.sendFailed(p.mid, new Error("gone"), { kept: true, offline, maxFrame: 64 });
            }
            const m = { ...p, seq: ++seq, from: "alice" };
            box.settle(m);
            taken.push(p.text);
            return m;
          }
          if (answer === "gone") offline = true;
          const e = answer === "gone"
            ? new Error("gone")
            : answer === "later"
            ? new BackendError("unavailable", "store down")
            : new BackendError("invalid", "refused for good");
          throw box.sendFailed(p.mid, e, { kept: true, offline, maxFrame: 64 });
        }),
        offline: () => offline,
        notice: () => {},
        confirmed: () => {},
        timers: { set: (f) => timers.push(f), clear: () => {} },
      });
      const settle = () => new Promise((r) => setTimeout(r, 0));
      for (const s of steps) {
        if (s.k === "send") {
          const text = `t${n++}`;
          void kept.send(bob, text, offline).catch(() => rejected.push(text));
        } else if (s.k === "lose") (offline = true, kept.lost());
        else if (s.k === "resume") (offline = false, kept.resume(() => {}));
        else if (s.k === "retry") timers.shift()?.();
        else answer = s.a;
        await settle();
      }
      // The network heals: online, answered, caught up, every retry fired.
      answer = "ok";
      offline = false;
      kept.resume(() => {});
      for (let i = 0; i < 50 && (box.waiting().length || timers.length); i++) {
        timers.shift()?.();
        await settle();
      }
      const failed = box.list().filter((e) => e.failed !== undefined).map((e) => e.text);
      assert.deepEqual(box.waiting(), [], "nothing stuck");
      assert.equal(new Set(taken).size, taken.length, `taken twice: ${taken}`);
      const order = (t: string) => Number(t.slice(1));
      assert.deepEqual(taken, [...taken].sort((a, b) => order(a) - order(b)), "in the order written");
      const all = [...taken, ...failed, ...rejected].sort((a, b) => order(a) - order(b));
      assert.deepEqual(
        all,
        Array.from({ length: n }, (_, i) => `t${i}`),
        "each taken, failed or refused, once",
      );
    }),
    { numRuns: 300 },
  );
});

/** Peer mode's use (peer/session.ts): a lane per peer, any number unacknowledged, acks settled by the lane. */
function peerRig() {
  const box = new Outbox(new LocalStore(":memory:"), "alice", new ManualClock(1_000_000));
  const handed: string[] = [], settled: string[] = [], acks = new Map<string, () => void>();
  const up = new Set<string>();
  const kept = new KeptSends({
    me: "alice",
    outbox: box,
    window: Infinity,
    lane: (to) => to.name!,
    check: () => Promise.resolve(),
    sendOne: (p) => {
      handed.push(`${p.to.name}:${p.text}`);
      return Promise.resolve({ taken: new Promise<null>((r) => acks.set(p.text, () => r(null))) });
    },
    offline: (lane) => !up.has(lane),
    settle: (lane, mid) => (settled.push(`${lane}:${box.waitingOne(mid)?.text}`), box.remove(mid)),
    notice: () => {},
    confirmed: () => {},
    timers: { set: () => {}, clear: () => {} },
  });
  const write = (peer: string, text: string) => kept.added(box.create({ kind: "user", name: peer }, text));
  return { box, kept, handed, settled, acks, up, write };
}

Deno.test("kept sends, a lane per peer: a peer's channel takes only its own entries, all at once; another's wait for theirs", async () => {
  const r = peerRig();
  r.write("bob", "b1");
  r.write("carol", "c1");
  r.write("bob", "b2");
  r.up.add("bob");
  r.kept.connected("bob");
  await new Promise((res) => setTimeout(res, 0));
  assert.deepEqual(
    r.handed,
    ["bob:b1", "bob:b2"],
    "bob's, in order, without waiting for acks; none of carol's",
  );
  r.acks.get("b2")!();
  r.acks.get("b1")!();
  await new Promise((res) => setTimeout(res, 0));
  assert.deepEqual(r.settled.sort(), ["bob:b1", "bob:b2"]);
  r.up.add("carol");
  r.kept.connected("carol");
  await new Promise((res) => setTimeout(res, 0));
  assert.deepEqual(r.handed, ["bob:b1", "bob:b2", "carol:c1"]);
});

Deno.test("kept sends, a lane per peer: a channel that ends sends what it was handed again on the next one, with its ids", async () => {
  const r = peerRig();
  r.up.add("bob");
  const first = r.kept.connected("bob");
  r.write("bob", "b1");
  await new Promise((res) => setTimeout(res, 0));
  r.up.delete("bob");
  r.kept.lost("bob", first);
  r.write("bob", "b2"); // bob is away: it waits
  await new Promise((res) => setTimeout(res, 0));
  assert.deepEqual(r.handed, ["bob:b1"]);
  r.up.add("bob");
  r.kept.connected("bob");
  await new Promise((res) => setTimeout(res, 0));
  assert.deepEqual(r.handed, ["bob:b1", "bob:b1", "bob:b2"], "again, then the next");
  assert.equal(new Set(r.box.waiting().map((p) => p.mid)).size, 2, "the same two entries");
});
