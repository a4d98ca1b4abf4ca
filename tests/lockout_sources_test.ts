/**
 * Issue 69 D1, the attack: one address that guesses a chosen account's password three times an hour
 * kept its owner out for ever (the lockout was the account's). Now `maxAttempts` failures lock out
 * the guessing source network only (/24 for IPv4, /64 for IPv6): the owner logs in from elsewhere;
 * guesses spread over many networks still lock the whole account, at ACCOUNT_FACTOR times as many.
 * Against server/accounts.ts on a SQLite store, with the source addresses the server passes in; and
 * on a server, a password login proving one of the account's devices goes through a lockout — the
 * reconnect of a running client (start/login_again.ts `deviceProver`) sends that proof.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/common/clock.ts";
import { Logger } from "../lib/common/logger.ts";
import { ACCOUNT_FACTOR, Accounts } from "../lib/server/accounts.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import type { BackendError } from "../lib/client/backend.ts";
import { newDeviceKey, signDeviceProof } from "../lib/crypto/device_link.ts";
import { generateIdentity, publicIdentity } from "../lib/crypto/identity.ts";
import { generateOneTimePrekeys, generateSignedPrekey } from "../lib/crypto/prekeys.ts";
import { startTestServer, testKdf } from "./helpers.ts";
import { ServerSession } from "../lib/client/core/server_session.ts";
import { deviceProver } from "../lib/client/start/login_again.ts";

const hasher = {
  hash: (p: string) => Promise.resolve(`fake$${p}`),
  verify: (p: string, h: string) => Promise.resolve(h === `fake$${p}`),
};

async function accounts() {
  const clock = new ManualClock(Date.UTC(2026, 10, 28, 12, 0, 0));
  const lines: string[] = [];
  const store = new SqliteStore(":memory:");
  const a = new Accounts(store, hasher, clock, new Logger([(l) => lines.push(l)], clock), {
    maxAttempts: 3,
    lockoutSeconds: 60,
    lockoutCapSeconds: 3600,
  });
  assert.equal((await a.register("alice", "the right password", "198.51.100.20:5000")).ok, true);
  const login = async (pw: string, addr: string) => {
    const r = await a.login("alice", pw, addr);
    return r.ok ? "ok" : r.code;
  };
  return { a, store, clock, lines, login, close: () => store.close() };
}

Deno.test("lockout (issue 69 D1): the guessing network locks itself out; the owner logs in from another", async () => {
  const t = await accounts();
  try {
    for (
      const [attacker, neighbour, owner] of [
        ["203.0.113.7:41000", "203.0.113.99:41001", "198.51.100.20:5000"],
        ["[2001:db8:1:2::5]:41000", "[2001:db8:1:2:ffff::6]:41001", "[2001:db8:1:3::1]:5000"],
      ]
    ) {
      assert.equal(await t.login("guess 1", attacker!), "bad_credentials");
      assert.equal(await t.login("guess 2", attacker!), "bad_credentials");
      assert.equal(await t.login("guess 3", attacker!), "locked", "the third guess locks its network");
      assert.equal(await t.login("guess 4", neighbour!), "locked", "the rest of its /24 or /64 too");
      assert.equal(await t.login("the right password", attacker!), "locked", "even with the password");
      assert.equal(
        await t.login("the right password", owner!),
        "ok",
        "the owner elsewhere is not locked out",
      );
      t.clock.advance(61_000);
    }
    // Three guesses an hour, for hours: the owner never meets a lockout.
    for (let hour = 0; hour < 5; hour++) {
      for (let i = 0; i < 3; i++) await t.login(`guess ${hour}.${i}`, "203.0.113.7:41000");
      assert.equal(await t.login("the right password", "198.51.100.20:5000"), "ok", `hour ${hour}`);
      t.clock.advance(3_600_000);
    }
  } finally {
    t.close();
  }
});

Deno.test("lockout (issue 69 D1): guesses spread over many networks still lock the whole account", async () => {
  const t = await accounts();
  try {
    const limit = 3 * ACCOUNT_FACTOR;
    // Two guesses from each network: never enough to lock one of them.
    for (let i = 0; i < limit - 1; i++) {
      const addr = `192.0.${Math.floor(i / 2)}.${10 + (i % 2)}:40000`;
      assert.equal(await t.login(`guess ${i}`, addr), "bad_credentials", `guess ${i} from ${addr}`);
    }
    assert.equal(
      await t.login("guess last", "192.0.200.1:40000"),
      "locked",
      `the ${limit}th failure locks the account`,
    );
    assert.equal(
      await t.login("the right password", "198.51.100.20:5000"),
      "locked",
      "for everyone: a password",
    );
    assert.ok(t.lines.some((l) => l.includes("WARN lockout user=alice") && l.includes("many networks")));
    t.clock.advance(61_000);
    assert.equal(await t.login("the right password", "198.51.100.20:5000"), "ok", "it ends by itself");
  } finally {
    t.close();
  }
});

Deno.test("lockout (issue 69 D1): a password login proving one of the account's devices goes through a lockout", async () => {
  const t = await startTestServer({ maxAttempts: 3, lockoutSeconds: 600 });
  try {
    const open = async () => {
      const c = await t.connect();
      const nonce = String((await c.request("hello", { v: 1, client: "t" })).header.nonce);
      return { c, nonce };
    };
    const code = (p: Promise<unknown>) => p.then(() => "ok", (e: BackendError) => e.code);
    // alice registers (an older client: the password itself) and publishes device 1's key.
    const reg = await open();
    await reg.c.request("register", { user: "alice", password: "right password" });
    const id = await generateIdentity();
    const spk = await generateSignedPrekey(id, 1, Date.now());
    const dk = await newDeviceKey();
    await reg.c.request("keys.publish", {
      identity: publicIdentity(id),
      spk: { id: spk.id, pub: spk.pub, sig: spk.sig },
      opks: (await generateOneTimePrekeys(1, 3)).map((k) => ({ id: k.id, pub: k.pub })),
      device: 1,
      deviceKey: dk.pub,
      proof: await signDeviceProof(dk, "alice", 1, reg.nonce),
    });
    await reg.c.close();
    // Someone on the owner's own network (the tests' 127.0.0.1) locks it out.
    for (let i = 0; i < 3; i++) {
      const x = await open();
      await code(x.c.request("login", { user: "alice", password: `guess ${i}` }));
      await x.c.close();
    }
    const plain = await open();
    assert.equal(
      await code(plain.c.request("login", { user: "alice", password: "right password" })),
      "locked",
    );
    await plain.c.close();
    // A proof made for another session, or by a key that is no device of alice's, does not pass.
    const replay = await open();
    const stale = {
      device: 1,
      deviceKey: dk.pub,
      proof: await signDeviceProof(dk, "alice", 1, "another-nonce"),
    };
    assert.equal(
      await code(replay.c.request("login", { user: "alice", password: "right password", ...stale })),
      "locked",
    );
    await replay.c.close();
    const stranger = await open();
    const other = await newDeviceKey();
    const foreign = { deviceKey: other.pub, proof: await signDeviceProof(other, "alice", 1, stranger.nonce) };
    assert.equal(
      await code(stranger.c.request("login", { user: "alice", password: "right password", ...foreign })),
      "locked",
    );
    await stranger.c.close();
    // The owner's device, proving itself for this session, logs in; a wrong password still fails.
    const own = await open();
    const proof = { device: 1, deviceKey: dk.pub, proof: await signDeviceProof(dk, "alice", 1, own.nonce) };
    assert.equal(
      await code(own.c.request("login", { user: "alice", password: "wrong!", ...proof })),
      "bad_credentials",
    );
    assert.equal(
      await code(own.c.request("login", { user: "alice", password: "right password", ...proof })),
      "ok",
    );
    await own.c.close();
  } finally {
    await t.stop();
  }
});

Deno.test("lockout (issue 69 D1): a running client logging in again proves its device and gets through a lockout", async () => {
  const t = await startTestServer({ maxAttempts: 3, lockoutSeconds: 600 });
  try {
    const { client } = await t.e2eClient("alice");
    for (let i = 0; i < 3; i++) { // someone on the same network guesses
      const c = await t.connect();
      await c.request("hello", { v: 1, client: "t" });
      await c.request("login", { user: "alice", password: `guess ${i}` }).catch(() => {});
      await c.close();
    }
    const again = async (proveDevice?: (nonce: string) => Promise<Record<string, unknown> | null>) => {
      const conn = await t.connect();
      const o = {
        conn,
        server: `127.0.0.1:${t.port}`,
        user: "alice",
        password: "pw-alice-secret",
        kdf: testKdf,
      };
      try {
        const s = await ServerSession.login({ ...o, ...(proveDevice ? { proveDevice } : {}) });
        return s.user;
      } catch (e) {
        return (e as BackendError).code;
      } finally {
        await conn.close();
      }
    };
    assert.equal(await again(), "locked", "the password alone, as before");
    assert.equal(await again(deviceProver(client)), "alice", "the reconnect of alice's own client");
  } finally {
    await t.stop();
  }
});
