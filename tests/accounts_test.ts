import assert from "node:assert/strict";
import { ManualClock } from "../lib/common/clock.ts";
import { PasswordHasher } from "../lib/crypto/password.ts";
import { BackendError } from "../lib/client/backend.ts";
import { startTestServer } from "./helpers.ts";
import { stopEnginesTest, topologyTest } from "./topology.ts";

Deno.test("register and login with argon2id; wrong password and unknown user fail alike", async () => {
  const hasher = new PasswordHasher({ workers: 2 });
  const t = await startTestServer({}, { hasher });
  try {
    const a = await t.client("Alice", { password: "correct horse battery" });
    assert.equal(a.user, "alice");
    await a.close();
    const again = await t.client("ALICE", { register: false, password: "correct horse battery" });
    assert.equal(again.user, "alice");
    const wrong = await t.client("alice", { register: false, password: "wrong password!" }).catch((e) => e);
    const ghost = await t.client("ghost", { register: false, password: "wrong password!" }).catch((e) => e);
    assert.ok(wrong instanceof BackendError && ghost instanceof BackendError);
    assert.equal(wrong.code, "bad_credentials");
    assert.deepEqual([ghost.code, ghost.message], [wrong.code, wrong.message]);
    const u = await t.srv.core.store.getUser("alice");
    assert.match(u!.hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await assert.rejects(t.client("bob", { password: "short" }), { code: "weak_password" });
    await assert.rejects(t.client("bob", { password: "x".repeat(1025) }), { code: "weak_password" });
    await assert.rejects(t.client("bad name!", { password: "long enough pw" }), { code: "bad_name" });
    await assert.rejects(t.client("alice", { password: "correct horse battery" }), { code: "name_taken" });
  } finally {
    await t.stop();
  }
});

Deno.test("two registrations of the same or a look-alike name at once: exactly one succeeds", async () => {
  const t = await startTestServer();
  try {
    const names = ["zoe", "ZOE", "ｚｏｅ", "Zoe", "zoE"];
    const rs = await Promise.allSettled(names.map((n) => t.client(n)));
    assert.equal(rs.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of rs) if (r.status === "rejected") assert.equal(r.reason.code, "name_taken");
  } finally {
    await t.stop();
  }
});

topologyTest(
  "N wrong passwords lock the account with the time; the right one is refused; it unlocks by itself",
  async (startTestServer) => {
    const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 0, 0));
    const t = await startTestServer({ maxAttempts: 3, lockoutSeconds: 10 }, { clock });
    try {
      (await t.client("alice", { password: "right password" })).close();
      const tryLogin = (pw: string) =>
        t.client("alice", { register: false, password: pw }).then((c) => (c.close(), "ok"), (e) => e);
      assert.equal((await tryLogin("nope nope 1")).code, "bad_credentials");
      assert.equal((await tryLogin("nope nope 2")).code, "bad_credentials");
      const locked = await tryLogin("nope nope 3");
      assert.equal(locked.code, "locked");
      // Local time and how long until it, never raw UTC with milliseconds (issue 14).
      assert.match(
        locked.message,
        /^Account alice is blocked until \d\d:\d\d \(in 10 s\) after too many failed logins$/,
      );
      assert.equal((await tryLogin("right password")).code, "locked");
      clock.advance(10_001);
      assert.equal(await tryLogin("right password"), "ok");
      // a second lockout lasts twice as long
      for (let i = 0; i < 3; i++) await tryLogin("bad again!");
      const second = await tryLogin("right password");
      assert.equal(second.code, "locked");
      assert.match(second.message, /until \d\d:\d\d \(in 20 s\)/);
      clock.advance(20_001);
      assert.equal(await tryLogin("right password"), "ok");
      assert.ok(t.lines.some((l) => l.includes("WARN lockout user=alice")));
      assert.ok((await t.srv.core.store.listAudit(10)).some((a) => a.action === "lockout"));
    } finally {
      await t.stop();
    }
  },
);

Deno.test("100 parallel wrong logins: exactly N counted failures, then locked; hashing stays bounded", async () => {
  let running = 0, peak = 0, verifies = 0;
  const hasher = {
    hash: (p: string) => Promise.resolve(`fake$${p}`),
    verify: async (p: string, h: string) => {
      verifies++;
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      return h === `fake$${p}`;
    },
  };
  const t = await startTestServer({ maxAttempts: 3, maxConnsPerAddr: 200 }, { hasher });
  try {
    (await t.client("alice", { password: "right password" })).close();
    const conns = await Promise.all(Array.from({ length: 100 }, () => t.connect()));
    const rs = await Promise.all(conns.map(async (c) => {
      await c.request("hello", { v: 1, client: "t" });
      return c.request("login", { user: "alice", password: "wrong password" }).then(
        () => "ok",
        (e) => e.code,
      );
    }));
    assert.equal(rs.filter((r) => r === "bad_credentials").length, 2);
    assert.equal(rs.filter((r) => r === "locked").length, 98);
    assert.equal(verifies, 3, "only the attempts before the lock cost a hash");
    assert.equal(peak, 1, "attempts on one account are serialised");
    assert.equal((await t.srv.core.store.getUser("alice"))!.lockouts, 1);
  } finally {
    await t.stop();
  }
});

Deno.test("per-address login throttle answers with a clear error", async () => {
  const t = await startTestServer({ loginRate: 5 });
  try {
    const c = await t.connect();
    await c.request("hello", { v: 1, client: "t" });
    const codes = [];
    for (let i = 0; i < 8; i++) {
      codes.push(await c.request("login", { user: "x", password: "whatever1" }).catch((e) => e.code));
    }
    assert.equal(codes.filter((x) => x === "throttled").length, 3);
  } finally {
    await t.stop();
  }
});

// On three nodes the connections go round-robin: the token from node 2 logs in on node 3 (issue 16).
topologyTest(
  "login with remember returns a resume token that logs in without the password",
  async (start) => {
    const t = await start();
    try {
      const c = await t.connect();
      await c.request("hello", { v: 1, client: "t" });
      await c.request("register", { user: "alice", password: "right password" });
      await c.request("logout", {}).catch(() => {});
      const c1 = await t.connect();
      await c1.request("hello", { v: 1, client: "t" });
      const r = await c1.request("login", { user: "alice", password: "right password", remember: true });
      const token = String(r.header.token);
      assert.match(token, /^[0-9a-f]{64}$/);
      const c2 = await t.connect();
      await c2.request("hello", { v: 1, client: "t" });
      assert.equal((await c2.request("login", { user: "ALICE", token })).header.user, "alice");
      const c3 = await t.connect();
      await c3.request("hello", { v: 1, client: "t" });
      await assert.rejects(c3.request("login", { user: "bob", token }), { code: "bad_credentials" });
      await assert.rejects(c3.request("login", { user: "alice", token: "0".repeat(64) }), {
        code: "bad_credentials",
      });
      await assert.rejects(c3.request("login", { user: "alice" }), { code: "invalid" });
    } finally {
      await t.stop();
    }
  },
);

Deno.test("failed logins decay after 15 minutes; a locked account answers as slowly as a wrong password", async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 0, 0));
  let verifies = 0;
  const hasher = {
    hash: (p: string) => Promise.resolve(`fake$${p}`),
    verify: async (p: string, h: string) => {
      verifies++;
      await new Promise((r) => setTimeout(r, 60)); // a hash that takes 60 ms
      return h === `fake$${p}`;
    },
  };
  const t = await startTestServer({ maxAttempts: 3, lockoutSeconds: 60 }, { clock, hasher });
  try {
    (await t.client("alice", { password: "right password" })).close();
    const tryLogin = (pw: string) =>
      t.client("alice", { register: false, password: pw }).then((c) => (c.close(), "ok"), (e) => e.code);
    assert.equal(await tryLogin("nope nope 1"), "bad_credentials");
    assert.equal(await tryLogin("nope nope 2"), "bad_credentials");
    clock.advance(15 * 60_000 + 1); // the two old failures no longer count
    assert.equal(await tryLogin("nope nope 3"), "bad_credentials");
    assert.equal(await tryLogin("nope nope 4"), "bad_credentials");
    assert.equal(await tryLogin("nope nope 5"), "locked", "three failures within the window lock");
    const before = verifies, t0 = performance.now();
    assert.equal(await tryLogin("nope nope 6"), "locked");
    const ms = performance.now() - t0;
    assert.ok(ms >= 50, `the locked answer took ${Math.round(ms)} ms, like a 60 ms hash`);
    assert.equal(verifies, before, "without spending a hash");
  } finally {
    await t.stop();
  }
});

stopEnginesTest();
