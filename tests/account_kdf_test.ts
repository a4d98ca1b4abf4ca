/**
 * Issue 10, item 11: the server never sees the password. The client hashes it (argon2id with the
 * account's salt and bounded parameters) and sends only the credential HKDF'd from that hash; the
 * keystore key comes from another label. A server handing out weak or absurd parameters is refused
 * before any hashing; an account and client folder from before are upgraded at the next login.
 */
import assert from "node:assert/strict";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { attachE2e } from "../lib/client/start/e2e_attach.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { accountSecrets, checkAccountKdf, KDF_CEILING } from "../lib/crypto/account_kdf.ts";
import { deriveAtRestKey, sealRecord } from "../lib/crypto/at_rest.ts";
import type { Hasher } from "../lib/server/accounts.ts";
import { fastHasher, startTestServer, testArgon, testKdf } from "./helpers.ts";

/** A hasher that records every string the server hashes or verifies. */
function spyHasher(): Hasher & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    hash: (p) => (seen.push(p), fastHasher.hash(p)),
    verify: (p, h) => (seen.push(p), fastHasher.verify(p, h)),
  };
}

const PASSWORD = "correct horse battery";

Deno.test("the server sees a credential derived from the password, never the password or the keystore key", async () => {
  const hasher = spyHasher();
  const t = await startTestServer({}, { hasher });
  try {
    const a = await t.e2eClient("alice", { password: PASSWORD });
    await a.client.close();
    const again = await t.e2eClient("alice", { password: PASSWORD, register: false });
    assert.ok(hasher.seen.length >= 2);
    for (const s of hasher.seen) assert.ok(!s.includes(PASSWORD), "the password never reaches the server");
    const u = await t.srv.core.store.getUser("alice");
    const kdf = checkAccountKdf(JSON.parse(u!.kdf!), testArgon);
    const secrets = await accountSecrets(PASSWORD, kdf);
    assert.equal(u!.hash, `fake$${secrets.credential}`, "the server hashes the credential itself");
    assert.notEqual(
      secrets.credential,
      Array.from(secrets.keystoreKey, (b) => b.toString(16).padStart(2, "0")).join(""),
    );
    assert.deepEqual(again.client.account?.keystoreKey, secrets.keystoreKey);
    // a wrong password gives another credential: refused as before
    await assert.rejects(t.e2eClient("alice", { password: "wrong password!", register: false }), {
      code: "bad_credentials",
    });
  } finally {
    await t.stop();
  }
});

Deno.test("hashing parameters below the floor or above the ceiling are refused before logging in", async () => {
  const hasher = spyHasher();
  const t = await startTestServer({}, { hasher });
  try {
    (await t.client("bob", { password: PASSWORD })).close();
    const salt = "ab".repeat(16);
    for (
      const bad of [
        { salt, memoryKiB: 8, iterations: 1, parallelism: 1 }, // below the floor
        { salt, memoryKiB: KDF_CEILING.memoryKiB * 2, iterations: 2, parallelism: 1 }, // beyond the ceiling
        { salt, memoryKiB: 19456, iterations: 99, parallelism: 1 },
        { salt: "ab", memoryKiB: 19456, iterations: 2, parallelism: 1 }, // short salt
      ]
    ) {
      await t.srv.core.store.setCredential("bob", "fake$x", JSON.stringify(bad));
      hasher.seen.length = 0;
      const conn = await t.connect();
      await assert.rejects(
        ChatClient.login({
          conn,
          server: "x",
          user: "bob",
          password: PASSWORD,
          kdf: { params: testArgon, floor: { memoryKiB: 19456, iterations: 2, parallelism: 1 } },
        }),
        { code: "bad_kdf" },
        JSON.stringify(bad),
      );
      assert.equal(hasher.seen.length, 0, "nothing was sent to check");
    }
    // an unknown account gets a stand-in record like a real one, stable per name
    const conn = await t.connect();
    await conn.request("hello", { v: 1, client: "t" });
    const k1 = (await conn.request("kdf", { user: "nobody" })).header.kdf;
    const k2 = (await conn.request("kdf", { user: "nobody" })).header.kdf;
    const k3 = (await conn.request("kdf", { user: "nobody2" })).header.kdf;
    assert.deepEqual(k1, k2);
    assert.notDeepEqual(k1, k3);
    assert.deepEqual(checkAccountKdf(k1), k1, "looks like a real record at default parameters");
  } finally {
    await t.stop();
  }
});

Deno.test("an account and client folder from before the upgrade log in once with the password, then never again", async () => {
  const hasher = spyHasher();
  const t = await startTestServer({}, { hasher });
  try {
    // The old client: the server stores a hash of the password; the folder's keystore is sealed under argon2id(password).
    const raw = await t.connect();
    await raw.request("hello", { v: 1, client: "old" });
    await raw.request("register", { user: "carol", password: PASSWORD });
    const home = `${t.dir}/home-carol`;
    await Deno.mkdir(home);
    const path = LocalStore.pathFor(home, "carol", `127.0.0.1:${t.port}`);
    const old = new LocalStore(path);
    old.db.exec(`CREATE TABLE e2e_meta (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE e2e_state (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;`);
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const oldKey = await deriveAtRestKey(PASSWORD, salt, testArgon);
    const enc = new TextEncoder();
    const ins = old.db.prepare("INSERT INTO e2e_meta (k, v) VALUES (?, ?)");
    ins.run("salt", salt);
    ins.run("params", enc.encode(JSON.stringify(testArgon)));
    ins.run("check", await sealRecord(oldKey, enc.encode("parley-keystore-check"), enc.encode("check")));
    old.db.prepare("INSERT INTO e2e_state (k, v) VALUES ('probe', ?)").run(
      await sealRecord(
        oldKey,
        enc.encode(JSON.stringify({ kept: "across the upgrade" })),
        enc.encode("probe"),
      ),
    );
    old.db.prepare(
      "INSERT INTO messages (seq, mid, ts, sender, kind, target, text) VALUES (1, 'm1', 1, 'dave', 'user', 'carol', 'old history')",
    ).run();
    old.close();

    hasher.seen.length = 0;
    const login = async () => {
      const store = new LocalStore(path);
      const conn = await t.connect();
      const c = await ChatClient.login({
        conn,
        server: "x",
        user: "carol",
        password: PASSWORD,
        store,
        kdf: testKdf,
      });
      const codec = await attachE2e(c, PASSWORD, { params: testArgon });
      return { c, codec, store };
    };
    const first = await login();
    assert.ok(hasher.seen.includes(PASSWORD), "the first login of an old folder sends the password once");
    const u = await t.srv.core.store.getUser("carol");
    const secrets = await accountSecrets(PASSWORD, checkAccountKdf(JSON.parse(u!.kdf!), testArgon));
    assert.equal(u!.hash, `fake$${secrets.credential}`, "the server now holds a hash of the credential");
    assert.deepEqual(await first.codec.cs.get("probe"), { kept: "across the upgrade" });
    assert.equal(first.store.get(1)?.text, "old history");
    assert.equal(first.store.db.prepare("SELECT 1 FROM e2e_meta WHERE k = 'salt'").get(), undefined);
    await first.c.close();

    hasher.seen.length = 0;
    const second = await login();
    assert.ok(hasher.seen.length > 0 && !hasher.seen.includes(PASSWORD), "afterwards only the credential");
    assert.deepEqual(await second.codec.cs.get("probe"), { kept: "across the upgrade" });
    // the upgrade request wants the current secret
    await assert.rejects(
      second.c.conn.request("account.rekey", {
        old: "guess guess",
        password: "x".repeat(64),
        kdf: secrets.kdf,
      }),
      { code: "bad_credentials" },
    );
    await second.c.close();
  } finally {
    await t.stop();
  }
});
