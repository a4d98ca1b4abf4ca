/**
 * The Reconnector runs one loop at a time: a `/reconnect` while a session is being adopted ends the
 * loop that found it (whose adopt then fails, its connection dropped), instead of that loop trying
 * again after its backoff and leaving the client with two live connections (CI: a third login 1 s
 * after `/reconnect`, the second connection never closed).
 */
import assert from "node:assert/strict";
import { BackendError, type BackendEvent } from "../backend.ts";
import { backoffDelay } from "../../common/backoff.ts";
import { Reconnector } from "./reconnect.ts";
import type { Timers } from "../../common/clock.ts";
import type { ServerSession } from "./server_session.ts";

interface FakeConn {
  closed: boolean;
  close(): Promise<void>;
}

function fakeConn(): FakeConn {
  const c: FakeConn = { closed: false, close: () => Promise.resolve(void (c.closed = true)) };
  return c;
}

/**
 * The loop's timers by hand: what is waiting (its delay), fired when the test says. A wait no timer
 * stands behind never ends: "nothing more happens" is no timer pending, not a wall-clock wait.
 */
function handTimers() {
  const waiting = new Map<number, { fn: () => void; ms: number }>();
  let ids = 0;
  const timers: Timers = {
    set: (fn, ms) => (waiting.set(++ids, { fn, ms }), ids),
    clear: (t) => void waiting.delete(t as number),
  };
  return {
    timers,
    pending: () => [...waiting.values()].map((w) => w.ms),
    /** Fires the one timer waiting. */
    fire: () => {
      assert.equal(waiting.size, 1, "one timer waiting");
      const [id, w] = [...waiting][0]!;
      waiting.delete(id);
      w.fn();
    },
  };
}

/** Lets every promise the fakes resolved run (the fakes do no I/O: one macrotask turn drains them). */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

const NOW = Date.UTC(2026, 0, 1, 14, 11);

Deno.test("reconnect: a /reconnect while a session is adopted ends the loop that found it (one connection)", async () => {
  let current: FakeConn = fakeConn();
  const logins: FakeConn[] = [];
  let lost: ((e: Extract<BackendEvent, { type: "disconnected" }>) => Promise<void>) | null = null;
  const adopted: FakeConn[] = [];
  const pending: { reject: (e: Error) => void }[] = []; // the first adopt, while it waits
  const t = handTimers();
  const re: Reconnector = new Reconnector({
    conn: () => current,
    closed: () => false,
    now: () => NOW,
    emit: () => {},
    canReconnect: () => true,
    reconnect: () => {
      const c = fakeConn();
      logins.push(c);
      return Promise.resolve({ conn: c } as unknown as ServerSession);
    },
    adopt: (s) => {
      const c = s.conn as unknown as FakeConn;
      current = c;
      // The conn closing ends this session: the host tells the Reconnector (as chat_client does).
      c.close = () => {
        c.closed = true;
        void lost?.({ type: "disconnected", code: "closed", reason: "closed" });
        return Promise.resolve();
      };
      if (adopted.push(c) > 1) return Promise.resolve();
      // The first adopt takes a while; it fails once its connection is dropped.
      return new Promise<void>((_, reject) => void pending.push({ reject }));
    },
  }, t.timers);
  lost = (e) => re.lost(e);
  current.closed = true;
  const loop = re.lost({ type: "disconnected", code: "closed", reason: "server restart" });
  await settle();
  assert.deepEqual(t.pending(), [backoffDelay(0)], "the first backoff");
  t.fire();
  await settle(); // the first attempt logs in; adopt pending
  assert.equal(logins.length, 1);
  assert.equal(pending.length, 1, "adopting the first session");
  re.now(); // `/reconnect` during the adopt: drops it, a new loop logs in at once
  await settle();
  assert.equal(logins.length, 2);
  pending[0]!.reject(new Error("Connection closed")); // the dropped session's adopt fails
  await loop;
  await settle();
  assert.deepEqual(
    t.pending(),
    [],
    "no backoff of the old loop left to end in a login (a second live connection)",
  );
  assert.equal(logins.length, 2);
  assert.equal(current, logins[1]);
  assert.equal(logins[1]!.closed, false);
  assert.equal(re.reconnecting, false);
});

/** A Reconnector whose connection is gone, logging in with `login`; the notices it gives. */
function downHost(login: () => Promise<never>, closed = () => false) {
  const notices: string[] = [];
  const t = handTimers();
  const re = new Reconnector({
    conn: () => ({ closed: true, close: () => Promise.resolve() }),
    closed,
    now: () => NOW,
    emit: (e) => void (e.type === "notice" && notices.push(e.text)),
    canReconnect: () => true,
    reconnect: login,
    adopt: () => Promise.resolve(),
  }, t.timers);
  return { re, notices, t };
}

Deno.test("reconnect: a server down for long is one 'Reconnect failed' line while its reason stays the same", async () => {
  let attempts = 0;
  const { re, notices, t } = downHost(() => {
    attempts++;
    return Promise.reject(new Error(attempts < 3 ? "Connection refused" : "Wrong password"));
  }, () => attempts >= 5);
  re.now(); // at once, then after each backoff, which the test ends by hand
  const waited: number[] = [];
  for (await settle(); attempts < 5; await settle()) {
    waited.push(...t.pending());
    t.fire();
  }
  re.stop();
  assert.deepEqual(waited, [0, 1, 2, 3].map((n) => backoffDelay(n)), "the backoff grows");
  assert.deepEqual(notices, [
    "Reconnect failed: Connection refused (Parley keeps trying; /reconnect tries now)",
    "Reconnect failed: Wrong password (Parley keeps trying; /reconnect tries now)",
  ]);
});

Deno.test("reconnect: a refused password stops the loop (no lockout by retries); a lockout is waited out", async () => {
  const answers: Error[] = [
    new BackendError("locked", "Account carol is locked until 14:12 (in 1 s)", NOW + 150),
    new BackendError("bad_credentials", "Wrong user name or password"),
  ];
  let attempts = 0;
  const { re, notices, t } = downHost(() =>
    Promise.reject(answers[Math.min(attempts++, answers.length - 1)])
  );
  re.now();
  await settle();
  assert.equal(attempts, 1);
  assert.deepEqual(
    t.pending(),
    [150 + 1000],
    "locked: the next try waits for the lockout's end (+1 s), no sooner",
  );
  t.fire(); // its end: one try
  await settle();
  assert.equal(attempts, 2);
  assert.deepEqual(t.pending(), [], "a refused password is not tried again by itself: no timer waits");
  assert.equal(re.reconnecting, false);
  assert.deepEqual(notices, [
    "Reconnect failed: Account carol is locked until 14:12 (in 1 s)",
    "Reconnect failed: Wrong user name or password. Parley stopped trying (each try counts toward a lockout): " +
    "start it again with the right password",
  ]);
  re.stop();
});

Deno.test("reconnect: a password changed elsewhere says to start again with it, not /reconnect", async () => {
  const { re, notices } = downHost(() => Promise.reject(new Error("not tried")));
  await re.lost({
    type: "disconnected",
    code: "password_changed",
    reason: "The account's password was changed",
  });
  assert.deepEqual(notices, ["Start Parley again with the new password to connect"]);
  await re.lost({ type: "disconnected", code: "kicked", reason: "You were kicked" });
  assert.deepEqual(notices.at(-1), "Type /reconnect to connect again");
});

Deno.test("reconnect: a server that answers `unavailable` is asked again on the short schedule, not a grown back-off", async () => {
  const waits: number[] = [];
  let attempts = 0;
  const answers = [
    new Error("Connection refused"), // the node restarting: the usual back-off
    ...Array.from(
      { length: 5 },
      () => new BackendError("unavailable", "The server cannot store messages right now"),
    ),
  ];
  const re = new Reconnector({
    conn: () => ({ closed: true, close: () => Promise.resolve() }),
    closed: () => false,
    now: () => Date.now(),
    emit: () => {},
    canReconnect: () => true,
    reconnect: () => {
      const a = answers[attempts++];
      return a ? Promise.reject(a) : Promise.resolve({ conn: fakeConn() } as unknown as ServerSession);
    },
    adopt: () => Promise.resolve(),
  }, { set: (fn, ms) => (waits.push(ms), queueMicrotask(fn), 0), clear: () => {} });
  await re.lost({ type: "disconnected", code: "closed", reason: "server restart" });
  assert.equal(attempts, 7, "six refusals, then the session");
  assert.deepEqual(waits.slice(0, 2), [backoffDelay(0), backoffDelay(1)], "a refused connection backs off");
  const short = waits.slice(2);
  assert.equal(short.length, 5);
  // 250 ms growing to 1 s, each ±25 %: never the 4 s, 8 s, 16 s … a connection refused that long would wait.
  for (const [i, ms] of short.entries()) {
    const base = Math.min(1000, 250 * 2 ** i);
    assert.ok(ms >= base * 0.75 && ms <= base * 1.25, `wait ${i}: ${ms} ms, about ${base}`);
  }
  assert.equal(re.reconnecting, false);
});
