/**
 * Issue 33 point 5: the way to shut out a removed or lost device that knows the password is a
 * password change. After `changePassword` (`parley passwd`, `/passwd`): the old password and every
 * resume token of the account are refused, the account's other live sessions end with
 * `password_changed`, and the folder's keystore and history open under the new password only.
 */
import assert from "node:assert/strict";
import type { BackendEvent } from "../lib/client/backend.ts";
import { changePassword } from "../lib/client/start/account_passwd.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { SqliteCryptoStore } from "../lib/client/session/crypto_store.ts";
import { serverKey } from "../lib/client/session/trust.ts";
import { accountSecrets, checkAccountKdf } from "../lib/crypto/account_kdf.ts";
import { eventually, startTestServer, testArgon, testKdf } from "./helpers.ts";

const OLD = "pw-alice-secret";
const NEW = "a brand new passphrase";

Deno.test("passwd: the old password and every token stop working, other sessions end, the folder follows", async () => {
  const t = await startTestServer();
  try {
    const { client, store } = await t.e2eClient("alice");
    store.save([{
      seq: 1,
      mid: "m1",
      ts: 1,
      from: "bob",
      to: { kind: "user", name: "alice" },
      text: "kept",
    }]);
    // The removed laptop: a remembered login, and a session still open.
    const laptop = await ChatClient.login({
      conn: await t.connect(),
      server: "x",
      user: "alice",
      password: OLD,
      remember: true,
      kdf: testKdf,
    });
    const token = laptop.session.token!;
    let bye: BackendEvent | null = null;
    laptop.on((e) => {
      if (e.type === "disconnected") bye = e;
    });

    const r = await changePassword(client, NEW, { params: testArgon, remember: true });
    assert.match(r.token ?? "", /^[0-9a-f]{64}$/, "the caller's one new token");
    await eventually(() => bye, 3000, "the laptop's session ends");
    assert.equal((bye as unknown as { code: string }).code, "password_changed");

    const login = async (o: { password?: string; token?: string }) =>
      await ChatClient.login({
        conn: await t.connect(),
        server: "x",
        user: "alice",
        password: o.password ?? "",
        kdf: testKdf,
        ...(o.token ? { token: o.token } : {}),
      });
    await assert.rejects(login({ password: OLD }), { code: "bad_credentials" });
    await assert.rejects(login({ token }), { code: "bad_credentials" });
    const renewed = await login({ token: r.token! });
    assert.equal(renewed.user, "alice");
    const fresh = await login({ password: NEW });

    // The folder: sealed under the new password; the old one no longer opens it.
    await client.close();
    const db = new LocalStore(LocalStore.pathFor(`${t.dir}/home-alice`, "alice", await serverKey(t.cert)));
    try {
      const kdf = checkAccountKdf((await t.srv.core.accounts.kdfOf("alice")) as unknown, testArgon);
      const cs = await SqliteCryptoStore.open(db.db, NEW, fresh.account!, testArgon);
      assert.ok(await cs.get("identity"), "the keys open with the new password");
      db.unlock(cs.key);
      assert.equal(db.get(1)?.text, "kept", "the history too");
      await assert.rejects(
        SqliteCryptoStore.open(db.db, OLD, await accountSecrets(OLD, kdf), testArgon),
        { code: "bad_keystore_password" },
      );
    } finally {
      db.close();
    }
  } finally {
    await t.stop();
  }
});

Deno.test("passwd: a wrong current credential changes nothing", async () => {
  const t = await startTestServer();
  try {
    const c = await t.client("alice");
    const other = await t.client("bob");
    c.session.account = other.account; // bob's credential is not alice's
    await assert.rejects(changePassword(c, NEW, { params: testArgon }), { code: "bad_credentials" });
    await t.client("alice", { register: false }); // the old password still works
  } finally {
    await t.stop();
  }
});
