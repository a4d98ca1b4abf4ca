/**
 * Shared conformance suite for `Link` (core/link.ts; rule 8: one interface, one suite, as for `Store`
 * and `Bus`). Each implementation registers it with a factory that builds a world of two ends: `a`
 * sends to `b` with bodies sealed by the world (the relay carries any bytes; a peer channel needs
 * the ratchet's envelopes, sealed in call order). The cases: a send arrives with its mid and body
 * and its ack names it; each ack resolves once, for its own send; a resend of one mid arrives once
 * and is acknowledged again; an unknown target is refused with the world's stable code; after
 * `close` nothing arrives and waiting sends reject with `closed`; two sends arrive in order; a
 * signal reaches the signal receivers (never the message receivers) with its mid and body, a signal
 * to an unknown target is refused with the world's code, and after `close` a signal is refused with
 * `closed` and nothing arrives.
 */
import assert from "node:assert/strict";
import { BackendError, type Target } from "../backend.ts";
import type { Link, LinkAck, SealedEnvelope } from "./link.ts";
import { until } from "../../common/wait_testing.ts";

/** Two ends of one implementation, `a` sending to `b`. */
export interface LinkWorld {
  a: Link;
  b: Link;
  /** `a`'s name, as envelopes from it say. */
  from: string;
  /** `b` as `a` addresses it. */
  toB: Target;
  /** The body `a` sends as message `mid` with `text` (sealed for `b`; call in the order sent). */
  seal(mid: string, text: string): Promise<Uint8Array>;
  /** A target `a` cannot reach, and the code of its refusal. */
  unknown: { to: Target; code: string };
  /** Ends the world (the links may be closed already). */
  close(): Promise<void>;
}

/** Rejects after `ms` unless `p` settles first. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds, in steps of 10 ms, at most `ms`. */

let n = 0;
const freshMid = () => `c0ffee${(++n).toString(16).padStart(10, "0")}${"0".repeat(16)}`;

/** Whether `e` is the refusal with `code`. */
const refusedWith = (code: string) => (e: unknown) => e instanceof BackendError && e.code === code;

const of = (got: SealedEnvelope[], mid: string) => got.filter((e) => e.mid === mid);

/** The suite's cases: what each checks, and the check over a fresh world and what `b` received. */
const CASES: [string, (w: LinkWorld, got: SealedEnvelope[]) => Promise<void>][] = [
  ["a send arrives with its mid and body; its ack names it", async (w, got) => {
    const mid = freshMid();
    const body = await w.seal(mid, "hello b");
    const ack = await within(w.a.send(w.toB, mid, body), 5000, "the ack");
    assert.equal(ack.mid, mid);
    assert.ok(ack.ts > 0, "the ack has a time");
    await until(() => of(got, mid).length > 0, "the delivery", 5000, 10);
    const [e] = of(got, mid);
    assert.equal(e!.from, w.from);
    assert.deepEqual([...e!.body], [...body]);
  }],

  ["each ack resolves once, for its own send", async (w) => {
    const [m1, m2] = [freshMid(), freshMid()];
    const [b1, b2] = [await w.seal(m1, "one"), await w.seal(m2, "two")];
    const acks: LinkAck[] = [];
    const p1 = w.a.send(w.toB, m1, b1).then((a) => void acks.push(a));
    const p2 = w.a.send(w.toB, m2, b2).then((a) => void acks.push(a));
    await within(Promise.all([p1, p2]), 5000, "both acks");
    await pause(200);
    assert.deepEqual(acks.map((a) => a.mid).sort(), [m1, m2].sort());
  }],

  [
    "a resend of one mid arrives once and is acknowledged again",
    async (w, got) => {
      const mid = freshMid();
      const body = await w.seal(mid, "only once");
      const first = await within(w.a.send(w.toB, mid, body), 5000, "the first ack");
      const again = await within(w.a.send(w.toB, mid, body), 5000, "the resend's ack");
      assert.equal(first.mid, mid);
      assert.equal(again.mid, mid);
      await until(() => of(got, mid).length > 0, "the delivery", 5000, 10);
      await pause(300); // a second copy would have come by now
      assert.equal(of(got, mid).length, 1, "delivered once");
    },
  ],

  ["an unknown target is refused with a stable code", async (w) => {
    const mid = freshMid();
    await assert.rejects(
      w.a.send(w.unknown.to, mid, await w.seal(mid, "nobody")),
      refusedWith(w.unknown.code),
    );
  }],

  [
    "after close nothing arrives and waiting sends reject with closed",
    async (w, got) => {
      const mid = freshMid();
      const sent = w.a.send(w.toB, mid, await w.seal(mid, "cut off"));
      const outcome = sent.then(() => "acknowledged", (e: unknown) => e); // before close rejects it
      await w.a.close();
      assert.ok(
        refusedWith("closed")(await within(outcome, 5000, "the waiting send")),
        "rejected with closed",
      );
      const later = freshMid();
      await assert.rejects(w.a.send(w.toB, later, new Uint8Array([1])), refusedWith("closed"));
      await w.b.close();
      await pause(300);
      assert.equal(of(got, later).length, 0);
    },
  ],

  ["a closed receiver gets nothing more", async (w, got) => {
    await w.b.close();
    const mid = freshMid();
    // The carrier may take it (the relay stores it) or refuse it; either way b hears nothing.
    await within(w.a.send(w.toB, mid, await w.seal(mid, "too late")).catch(() => null), 5000, "the send");
    await pause(300);
    assert.equal(of(got, mid).length, 0);
  }],

  ["two sends arrive in the order sent", async (w, got) => {
    const [m1, m2] = [freshMid(), freshMid()];
    const [b1, b2] = [await w.seal(m1, "first"), await w.seal(m2, "second")];
    const p1 = w.a.send(w.toB, m1, b1), p2 = w.a.send(w.toB, m2, b2);
    await within(Promise.all([p1, p2]), 5000, "both acks");
    await until(() => of(got, m1).length + of(got, m2).length === 2, "both deliveries", 5000, 10);
    assert.deepEqual(got.filter((e) => e.mid === m1 || e.mid === m2).map((e) => e.mid), [m1, m2]);
  }],

  ["a signal arrives as a signal, with its mid and body, never as a message", async (w, got) => {
    const sigs = signalsOf(w.b);
    const mid = freshMid(), body = new Uint8Array([7, 1, 2, 3]);
    await within(w.a.signal(w.toB, mid, body), 5000, "the signal taken");
    await until(() => of(sigs, mid).length > 0, "the signal", 5000, 10);
    const [e] = of(sigs, mid);
    assert.equal(e!.from, w.from);
    assert.deepEqual([...e!.body], [...body]);
    await pause(200);
    assert.equal(of(sigs, mid).length, 1, "delivered once");
    assert.equal(of(got, mid).length, 0, "not a message");
  }],

  ["a signal to an unknown target is refused with a stable code", async (w) => {
    await assert.rejects(
      w.a.signal(w.unknown.to, freshMid(), new Uint8Array([1])),
      refusedWith(w.unknown.code),
    );
  }],

  ["after close a signal is refused with closed and nothing arrives", async (w, got) => {
    const sigs = signalsOf(w.b);
    await w.a.close();
    const mid = freshMid();
    await assert.rejects(w.a.signal(w.toB, mid, new Uint8Array([1])), refusedWith("closed"));
    await pause(300);
    assert.equal(of(sigs, mid).length + of(got, mid).length, 0);
  }],
];

/** The signals `l` receives from now on. */
function signalsOf(l: Link): SealedEnvelope[] {
  const sigs: SealedEnvelope[] = [];
  l.signals((e) => void sigs.push(e));
  return sigs;
}

/** Registers the suite's cases as tests named after `name`, each over a fresh `world()`. */
export function linkConformance(name: string, world: () => Promise<LinkWorld>, o: { ignore?: boolean } = {}) {
  const t = (what: string, fn: (w: LinkWorld, got: SealedEnvelope[]) => Promise<void>) =>
    Deno.test({ name: `Link conformance (${name}): ${what}`, ignore: o.ignore ?? false }, async () => {
      const w = await world();
      const got: SealedEnvelope[] = [];
      w.b.receive((e) => void got.push(e));
      try {
        await fn(w, got);
      } finally {
        await w.close();
      }
    });
  for (const [what, fn] of CASES) t(what, fn);
}
