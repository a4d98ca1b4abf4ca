/**
 * Login storms (issue 73): password logins verify argon2id on the hashing pool's workers
 * (lib/crypto/password.ts), so a connection already in is answered while a storm of logins runs —
 * its pings measured against the same pings with no storm and against the time a hash takes, in
 * the same run; and a storm past the pool's queue is refused at once with `unavailable` and the
 * words of handlers_account.ts's HASH_BUSY_TEXT, never left to time out.
 */
import assert from "node:assert/strict";
import { hashPasswordInline, PasswordHasher } from "../lib/crypto/password.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import { HASH_BUSY_TEXT } from "../lib/server/handlers_account.ts";
import { BackendError } from "../lib/client/backend.ts";
import { eventually, startTestServer, type TestServer } from "./helpers.ts";

const PASSWORD = "pw-storm-secret";

/** `n` accounts whose password hash is a real argon2id one (each login verifies it in full). */
async function accounts(dir: string, n: number): Promise<string[]> {
  const hash = await hashPasswordInline(PASSWORD, crypto.getRandomValues(new Uint8Array(16)));
  const s = new SqliteStore(`${dir}/parley.db`), users: string[] = [];
  for (let i = 0; i < n; i++) {
    users.push(`storm${i}`);
    await s.createUser({ name: `storm${i}`, hash, role: "user", createdAt: 0 });
  }
  await s.close();
  return users;
}

async function login(t: TestServer, user: string): Promise<string> {
  const c = await t.connect();
  try {
    await c.request("hello", { v: 1, client: "storm" });
    await c.request("login", { user, password: PASSWORD });
    return "ok";
  } catch (e) {
    if (e instanceof BackendError) return `${e.code}: ${e.message}`;
    throw e;
  } finally {
    c.close();
  }
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.99) - 1]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Pings on `c`, one after another, until `until` settles (at least `min`): each one's round trip
 * and the time since the one before it ended (ms). The server runs in this process, so a turn of
 * its event loop held by a hash shows in the gaps even when a round trip missed it.
 */
async function pings(c: Awaited<ReturnType<TestServer["connect"]>>, until: Promise<unknown>, min = 20) {
  let done = false;
  until.finally(() => done = true);
  const rtt: number[] = [], gaps: number[] = [];
  for (let last = performance.now(); !done || rtt.length < min;) {
    const t0 = performance.now();
    await c.request("ping");
    const t1 = performance.now();
    rtt.push(t1 - t0);
    gaps.push(t1 - last);
    last = t1;
    await new Promise((r) => setTimeout(r, 2));
  }
  return { rtt, gaps };
}

Deno.test("a storm of password logins runs on the hashing workers: a connection already in has its pings answered throughout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-storm-" });
  const users = await accounts(dir, 41);
  const hasher = new PasswordHasher({ workers: 2 });
  const t = await startTestServer({ loginRate: 0 }, { dir, hasher });
  try {
    const c = await t.connect();
    await c.request("hello", { v: 1, client: "t" });
    await c.request("login", { user: users[40]!, password: PASSWORD });
    const quiet = (await pings(c, Promise.resolve(), 40)).rtt;
    // One hash alone, timed: what a ping would wait for, were hashing on the event loop.
    const h0 = performance.now();
    assert.equal(await login(t, users[0]!), "ok");
    const hashMs = performance.now() - h0;
    // 40 logins from 20 clients at once (2 each, one after another).
    const storm = Promise.all(
      Array.from(
        { length: 20 },
        async (_, i) => [await login(t, users[2 * i]!), await login(t, users[2 * i + 1]!)],
      ),
    );
    const { rtt: during, gaps } = await pings(c, storm);
    const results = (await storm).flat();
    assert.deepEqual(results.filter((r) => r !== "ok"), [], "every login of the storm went through");
    console.log(
      `ping p99 quiet ${p99(quiet).toFixed(1)} ms, during the storm ${
        p99(during).toFixed(1)
      } ms (${during.length} pings;` +
        ` gaps median ${median(gaps).toFixed(1)}, p99 ${p99(gaps).toFixed(1)} ms); one login alone ${
          hashMs.toFixed(0)
        } ms`,
    );
    assert.ok(hasher.stats.onWorkers >= 42, `logins verified on the workers: ${hasher.stats.onWorkers}`);
    // Pings wait for no hash: no gap between them comes near the storm's length (were hashing on the
    // event loop, hash-wasm's runs would hold it for most of the storm: ~18 logins' time, measured).
    const longest = Math.max(...gaps);
    assert.ok(
      longest < 8 * hashMs,
      `the longest gap between pings ${longest} ms against a login's ${hashMs} ms`,
    );
    await c.close();
  } finally {
    await t.stop();
    hasher.close();
  }
});

Deno.test("a storm past the hashing queue is refused at once with `unavailable` (try again), not left waiting", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-storm-" });
  const users = await accounts(dir, 24);
  const hasher = new PasswordHasher({ workers: 1, maxQueue: 4 });
  const t = await startTestServer({ loginRate: 0 }, { dir, hasher });
  try {
    const results = await Promise.all(users.map((u) => login(t, u)));
    const busy = results.filter((r) => r !== "ok");
    assert.ok(busy.length > 0 && busy.length < users.length, `some refused: ${busy.length}`);
    for (const r of busy) assert.equal(r, `unavailable: ${HASH_BUSY_TEXT}`);
    assert.ok(t.lines.some((l) => l.includes("auth.busy")), "said as a warning");
    assert.ok(!t.lines.some((l) => l.includes("auth.error")), "not as a bug");
  } finally {
    await t.stop();
    hasher.close();
  }
});

Deno.test("the login deadline waits while the server checks the password (the hashing queue is the server's wait, not the client's)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-storm-" });
  const s = new SqliteStore(`${dir}/parley.db`);
  await s.createUser({ name: "slowpoke", hash: `fake$${PASSWORD}`, role: "user", createdAt: 0 });
  await s.close();
  let release!: () => void, begun!: () => void;
  const held = new Promise<void>((r) => release = r), checking = new Promise<void>((r) => begun = r);
  const hasher = {
    hash: (p: string) => Promise.resolve(`fake$${p}`),
    verify: async (p: string, h: string) => (begun(), await held, h === `fake$${p}`),
  };
  const t = await startTestServer({ loginTimeoutMs: 200 }, { dir, hasher });
  try {
    const c = await t.connect();
    await c.request("hello", { v: 1, client: "t" });
    const answer = c.request("login", { user: "slowpoke", password: PASSWORD });
    answer.catch(() => {}); // awaited below
    await checking;
    // Three deadlines pass while the check is held: awaited as the server's own look at the session
    // three deadlines after it connected (it looks every 50 ms), not guessed as a wall wait.
    const session = [...t.srv.hub.sessions].at(-1)!;
    const look = session.checkLiveness.bind(session);
    let lookedAt = 0;
    session.checkLiveness = (now, c) => (lookedAt = now, look(now, c));
    await eventually(
      () => lookedAt - session.connectedAt > 3 * 200 || c.closed || null,
      5000,
      "three deadlines looked at",
    );
    assert.equal(c.closed, false, "still connected");
    release();
    await answer;
    assert.ok(!t.lines.some((l) => l.includes("Login took too long")));
    await c.close();
  } finally {
    await t.stop();
  }
});
