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
import type { ServerSession } from "./server_session.ts";

interface FakeConn {
  closed: boolean;
  close(): Promise<void>;
}

function fakeConn(): FakeConn {
  const c: FakeConn = { closed: false, close: () => Promise.resolve(void (c.closed = true)) };
  return c;
}

Deno.test("reconnect: a /reconnect while a session is adopted ends the loop that found it (one connection)", async () => {
  let current: FakeConn = fakeConn();
  const logins: FakeConn[] = [];
  let lost: ((e: Extract<BackendEvent, { type: "disconnected" }>) => Promise<void>) | null = null;
  const adopted: FakeConn[] = [];
  const pending: { reject: (e: Error) => void }[] = []; // the first adopt, while it waits
  const re: Reconnector = new Reconnector({
    conn: () => current,
    closed: () => false,
    now: () => Date.now(),
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
  });
  lost = (e) => re.lost(e);
  current.closed = true;
  const loop = re.lost({ type: "disconnected", code: "closed", reason: "server restart" });
  await new Promise((r) => setTimeout(r, backoffDelay(0) + 100)); // the first attempt logs in; adopt pending
  assert.equal(logins.length, 1);
  assert.equal(pending.length, 1, "adopting the first session");
  re.now(); // `/reconnect` during the adopt: drops it, a new loop logs in at once
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(logins.length, 2);
  pending[0]!.reject(new Error("Connection closed")); // the dropped session's adopt fails
  await loop;
  await new Promise((r) => setTimeout(r, backoffDelay(1) + 200)); // past the old loop's next backoff
  assert.equal(logins.length, 2, "no further login (two loops: a second live connection)");
  assert.equal(current, logins[1]);
  assert.equal(logins[1]!.closed, false);
  assert.equal(re.reconnecting, false);
});

/** A Reconnector whose connection is gone, logging in with `login`; the notices it gives. */
function downHost(login: () => Promise<never>, closed = () => false) {
  const notices: string[] = [];
  const re = new Reconnector({
    conn: () => ({ closed: true, close: () => Promise.resolve() }),
    closed,
    now: () => Date.now(),
    emit: (e) => void (e.type === "notice" && notices.push(e.text)),
    canReconnect: () => true,
    reconnect: login,
    adopt: () => Promise.resolve(),
  });
  return { re, notices };
}

Deno.test("reconnect: a server down for long is one 'Reconnect failed' line while its reason stays the same", async () => {
  let attempts = 0;
  const { re, notices } = downHost(() => {
    attempts++;
    return Promise.reject(new Error(attempts < 3 ? "Connection refused" : "Wrong password"));
  }, () => attempts >= 5);
  re.now(); // at once, then with backoff: keep it short by waking each wait
  while (attempts < 5) {
    await new Promise((r) => setTimeout(r, 10));
    re.now();
  }
  re.stop();
  assert.deepEqual(notices, [
    "Reconnect failed: Connection refused (Parley keeps trying; /reconnect tries now)",
    "Reconnect failed: Wrong password (Parley keeps trying; /reconnect tries now)",
  ]);
});

Deno.test("reconnect: a refused password stops the loop (no lockout by retries); a lockout is waited out", async () => {
  const answers: Error[] = [
    new BackendError("locked", "Account carol is locked until 14:12 (in 1 s)", Date.now() + 150),
    new BackendError("bad_credentials", "Wrong user name or password"),
  ];
  let attempts = 0;
  const { re, notices } = downHost(() => Promise.reject(answers[Math.min(attempts++, answers.length - 1)]));
  re.now();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(attempts, 1, "locked: no try before the lockout ends");
  await new Promise((r) => setTimeout(r, 1500)); // its end (+1 s), then one try
  assert.equal(attempts, 2);
  await new Promise((r) => setTimeout(r, backoffDelay(0) + backoffDelay(1) + 200));
  assert.equal(attempts, 2, "a refused password is not tried again by itself");
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
  }, (ms) => (waits.push(ms), { done: Promise.resolve(), wake: () => {} }));
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
