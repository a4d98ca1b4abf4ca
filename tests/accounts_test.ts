import assert from "node:assert/strict";
import { ManualClock } from "../lib/common/clock.ts";
import { PasswordHasher } from "../lib/crypto/password.ts";
import { BackendError } from "../lib/client/backend.ts";
import { startTestServer } from "./helpers.ts";
import { topologyTest } from "./topology.ts";

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
        /^Account alice is locked until (?:\d{1,2} \w{3} \d{4} )?\d\d:\d\d \(in 10 s\) after too many failed logins$/,
      );
      assert.equal((await tryLogin("right password")).code, "locked");
      clock.advance(10_001);
      // a second lockout (with no successful login between) lasts twice as long
      for (let i = 0; i < 2; i++) await tryLogin("bad again!");
      const second = await tryLogin("bad again!");
      assert.equal(second.code, "locked");
      assert.match(second.message, /until (?:\d{1,2} \w{3} \d{4} )?\d\d:\d\d \(in 20 s\)/);
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
    // Issue 69 D1: the lockout is the source network's (every connection here is 127.0.0.1).
    assert.equal((await t.srv.core.store.loginSource("alice", "127.0.0.0/24"))!.lockouts, 1);
    assert.equal((await t.srv.core.store.getUser("alice"))!.lockedUntil, 0, "not the whole account's");
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

// Issue 34 item 1: people behind one NAT share an address; only failed guesses count against it.
Deno.test("the per-address login limit counts failures: 40 good logins and reconnects, then another user logs in", async () => {
  const t = await startTestServer({ loginRate: 30 });
  try {
    const open = async () => {
      const c = await t.connect();
      await c.request("hello", { v: 1, client: "t" });
      return c;
    };
    const reg = await open();
    await reg.request("register", { user: "alice", password: "alice password" });
    const reg2 = await open();
    await reg2.request("register", { user: "bob", password: "bob password!" });
    const first = await open();
    const token = String(
      (await first.request("login", { user: "alice", password: "alice password", remember: true })).header
        .token,
    );
    for (let i = 0; i < 40; i++) {
      const c = await open();
      if (i % 2) await c.request("login", { user: "alice", token }); // a reconnect with the resume token
      else await c.request("login", { user: "alice", password: "alice password" });
      await c.close();
    }
    const bob = await open();
    assert.equal((await bob.request("login", { user: "bob", password: "bob password!" })).header.user, "bob");
    // Guesses still are limited: 30 a minute from one address.
    const g = await open();
    const codes: string[] = [];
    for (let i = 0; i < 33; i++) {
      codes.push(
        await g.request("login", { user: "nobody", password: `guess ${i}` }).then(() => "ok", (e) => e.code),
      );
    }
    assert.equal(codes.filter((c) => c === "bad_credentials").length, 30);
    assert.equal(codes.filter((c) => c === "throttled").length, 3);
  } finally {
    await t.stop();
  }
});

// Issue 33 item 12 and issue 35: the lockout's growth stops at --lockout-cap; it decays; tokens pass.
Deno.test("lockouts double up to the cap, are forgotten after a quiet hour and on success; a resume token logs in through one", async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 0, 0));
  const t = await startTestServer({ maxAttempts: 3, lockoutSeconds: 10, lockoutCapSeconds: 15 }, { clock });
  try {
    const reg = await t.connect();
    await reg.request("hello", { v: 1, client: "t" });
    await reg.request("register", { user: "alice", password: "right password" });
    const tokenConn = await t.connect();
    await tokenConn.request("hello", { v: 1, client: "t" });
    const token = String(
      (await tokenConn.request("login", { user: "alice", password: "right password", remember: true })).header
        .token,
    );
    const attempt = async (o: { password?: string; token?: string }) => {
      const c = await t.connect();
      await c.request("hello", { v: 1, client: "t" });
      try {
        await c.request("login", { user: "alice", ...o });
        return "ok";
      } catch (e) {
        return (e as BackendError).message;
      } finally {
        await c.close();
      }
    };
    const lockOut = async () => {
      for (let i = 0; i < 2; i++) assert.match(await attempt({ password: `bad ${i}` }), /Wrong user name/);
      return await attempt({ password: "bad 3" });
    };
    assert.match(await lockOut(), /\(in 10 s\)/);
    assert.equal(await attempt({ token }), "ok", "the owner's device logs in through the lockout");
    assert.match(await attempt({ password: "right password" }), /locked until/, "a password does not");
    clock.advance(10_001);
    assert.match(await lockOut(), /\(in 15 s\)/, "20 s is over the 15 s cap");
    clock.advance(15_001);
    assert.match(await lockOut(), /\(in 15 s\)/);
    // A quiet hour after the lockout ended: the repeats are forgotten.
    clock.advance(15_000 + 60 * 60_000 + 1);
    assert.match(await lockOut(), /\(in 10 s\)/);
    clock.advance(10_001);
    assert.match(await lockOut(), /\(in 15 s\)/);
    // A successful login forgets them too.
    clock.advance(15_001);
    assert.equal(await attempt({ password: "right password" }), "ok");
    assert.match(await lockOut(), /\(in 10 s\)/);
    assert.equal((await t.srv.core.store.loginSource("alice", "127.0.0.0/24"))!.lockouts, 1);
  } finally {
    await t.stop();
  }
});
