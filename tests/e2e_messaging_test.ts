/**
 * End-to-end encryption through a real server (port 0, TLS): the server's database and logs hold
 * no plaintext; offline delivery, acknowledgement and `read --since` history work encrypted; a
 * swapped identity key in the server's directory is detected and blocks sending; SECURITY.md
 * bad-input items 12–14 (replay under a new mid, bit flips, a header 10^6 ahead, a bad prekey
 * signature) are rejected by the receiver with its state unchanged.
 */
import assert from "node:assert/strict";
import { serverKey } from "../lib/client/session/trust.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { BackendError } from "../lib/client/backend.ts";
import { ensureDeviceKeys } from "../lib/crypto/keystore.ts";
import { MemoryCryptoStore } from "../lib/crypto/state_store.ts";
import { assertNoPlaintext, eventually, inbox, startTestServer } from "./helpers.ts";
import { topologyTest } from "./topology.ts";

/** The client's sealed crypto rows, to compare before and after a rejected message. */
export function cryptoSnapshot(s: LocalStore): string {
  const rows = s.db.prepare("SELECT k, hex(v) AS v FROM e2e_state ORDER BY k").all();
  return JSON.stringify(rows.map((r) => [r.k, r.v]));
}

topologyTest(
  "E2E: DMs and a 3-member room leave no plaintext in the server's database, WAL or logs",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const a = await t.e2eClient("alice");
      const b = await t.e2eClient("bob");
      const c = await t.e2eClient("carol");
      const [ai, bi, ci] = [inbox(a.client), inbox(b.client), inbox(c.client)];
      for (const x of [a, b, c]) await x.client.sync();
      const secrets = [
        "dm-secret-apricot",
        "dm-secret-blueberry",
        "room-secret-cherry",
        "room-secret-damson",
      ];
      await a.client.send({ kind: "user", name: "bob" }, secrets[0]!);
      await eventually(() => bi.msgs.length === 1, 3000, "bob's DM");
      await b.client.send({ kind: "user", name: "alice" }, secrets[1]!);
      await eventually(() => ai.msgs.length === 1, 3000, "alice's DM");
      assert.equal(bi.msgs[0]!.text, secrets[0]);
      assert.equal(ai.msgs[0]!.text, secrets[1]);
      await a.client.commands.createRoom("dev", ["bob", "carol"]);
      await a.client.send({ kind: "room", name: "dev" }, secrets[2]!);
      await eventually(() => bi.msgs.length === 2 && ci.msgs.length === 1, 3000, "room message");
      await c.client.send({ kind: "room", name: "dev" }, secrets[3]!);
      await eventually(() => ai.msgs.length === 2 && bi.msgs.length === 3, 3000, "carol's room message");
      assert.deepEqual(bi.msgs.map((m) => m.text), [secrets[0], secrets[2], secrets[3]]);
      assert.equal(ai.msgs[1]!.text, secrets[3]);
      assert.ok(
        bi.notices.some((n) => n.includes("alice created #dev") && n.includes("verified")),
        bi.notices.join(),
      );
      await assertNoPlaintext(t.dir, t.lines, secrets, t.shared, t.srv.core.store);
      assert.ok(t.lines.join("\n").includes("room.create"), "the log was searched");
    } finally {
      await t.stop();
    }
  },
);

topologyTest(
  "E2E: offline delivery, ack and history since a time work encrypted; nothing is decrypted twice",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const b0 = await t.e2eClient("bob");
      await b0.client.close();
      const a = await t.e2eClient("alice");
      const start = Date.now() - 1000;
      for (let i = 0; i < 5; i++) await a.client.send({ kind: "user", name: "bob" }, `offline ${i}`);
      const b1 = await t.e2eClient("bob", { register: false });
      const first = await b1.client.sync();
      assert.deepEqual(first.map((m) => m.text), [0, 1, 2, 3, 4].map((i) => `offline ${i}`));
      await b1.client.close(); // not acknowledged: the server sends them again, served from the local db
      const b2 = await t.e2eClient("bob", { register: false });
      const again = await b2.client.sync();
      assert.deepEqual(again.map((m) => m.text), first.map((m) => m.text));
      await b2.client.ack(again);
      await b2.client.close();
      const b3 = await t.e2eClient("bob", { register: false });
      assert.deepEqual(await b3.client.sync(), []);
      const hist = await b3.client.history({ kind: "user", name: "alice" }, start);
      assert.deepEqual(hist.map((m) => m.text), first.map((m) => m.text));
      assert.deepEqual(b3.store.list("bob", start).map((m) => m.text), first.map((m) => m.text));
      await b3.client.send({ kind: "user", name: "alice" }, "back online");
      const ai = await a.client.sync();
      assert.deepEqual(ai.map((m) => m.text), ["back online"]);
    } finally {
      await t.stop();
    }
  },
);

Deno.test("E2E: a swapped identity key in the server's directory is detected and blocks sending until trust", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    const bi = inbox(b.client);
    await b.client.sync();
    await a.client.send({ kind: "user", name: "bob" }, "before the swap");
    await eventually(() => bi.msgs.length === 1, 3000, "first DM");
    const before = await a.client.fingerprint("bob");
    assert.equal(before.changed, false);
    await b.client.close(); // online, bob would republish his real key when told "keys.low"
    // The server (or whoever controls it) puts another key in bob's directory entry.
    const mallory = (await ensureDeviceKeys(new MemoryCryptoStore(), Date.now(), 5))!;
    const real = (await t.srv.core.store.takeBundle("bob", false))!;
    await t.srv.core.store.putIdentity("bob", JSON.stringify(mallory.identity), JSON.stringify(mallory.spk));
    await t.srv.core.store.addPrekeys("bob", mallory.opks);
    const after = await a.client.fingerprint("bob");
    assert.equal(after.changed, true);
    assert.notEqual(after.safetyNumber, before.safetyNumber);
    await assert.rejects(
      () => a.client.send({ kind: "user", name: "bob" }, "must not go out"),
      (e: BackendError) => {
        assert.equal(e.code, "key_changed");
        assert.ok(
          e.message.includes(before.safetyNumber!) && e.message.includes(after.safetyNumber!),
          e.message,
        );
        assert.match(e.message, /trust bob/);
        return true;
      },
    );
    const trusted = await a.client.commands.trust("bob");
    assert.equal(trusted.changed, false);
    assert.equal(trusted.safetyNumber, after.safetyNumber);
    const sent = await a.client.send({ kind: "user", name: "bob" }, "after accepting");
    assert.ok(sent.seq > 0);
    // The real bob, back with his own key (a folder whose key differs from the directory's is
    // refused with not_linked: issue 9), cannot read a message encrypted to the substituted key.
    await t.srv.core.store.putIdentity("bob", real.identity, real.spk);
    const b2 = await t.e2eClient("bob", { register: false });
    const b2i = inbox(b2.client);
    assert.deepEqual((await b2.client.sync()).map((m) => m.text), ["before the swap"]);
    assert.ok(
      b2i.notices.some((n) => n.startsWith(`Could not read message ${sent.seq} from alice`)),
      b2i.notices.join(),
    );
  } finally {
    await t.stop();
  }
});

Deno.test("E2E bad input 12–14: replay under a new mid, bit flips, a header 10^6 ahead, a bad prekey signature", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    const bi = inbox(b.client);
    await b.client.sync();
    const to = { kind: "user" as const, name: "bob" };
    await a.client.send(to, "hello bob");
    await eventually(() => bi.msgs.length === 1, 3000, "first DM");
    await b.client.send({ kind: "user", name: "alice" }, "hi alice"); // alice's next messages are plain ratchet ones
    await a.client.sync();
    const raw = async (mid: string, body: Uint8Array) =>
      Number((await a.client.conn.request("send", { to, mid }, body)).header.seq);
    const rejected = async (seq: number, what: RegExp) => {
      await eventually(
        () => bi.notices.some((n) => n.startsWith(`Could not read message ${seq} `)),
        3000,
        "notice",
      );
      const n = bi.notices.find((x) => x.startsWith(`Could not read message ${seq} `))!;
      assert.match(n, what);
    };
    // 12a: an envelope replayed under a new mid.
    const env = (await a.codec.seal(to, "mid-original-1", "pay 10 to carol")).body;
    await raw("mid-original-1", env);
    await eventually(() => bi.msgs.length === 2, 3000, "second DM");
    let snap = cryptoSnapshot(b.store);
    await rejected(await raw("mid-replayed-1", env), /replay/);
    assert.equal(cryptoSnapshot(b.store), snap);
    // 12b: bit flips in the message id, header and ciphertext.
    const fresh = (await a.codec.seal(to, "mid-flipped-1", "flip me")).body;
    for (const [i, pos] of [3, 30, fresh.length - 5].entries()) {
      const f = fresh.slice();
      f[pos]! ^= 0x04;
      const seq = await raw(`mid-flipped-${i + 2}`, f);
      await rejected(seq, /authenticate|replay|id/);
      assert.equal(cryptoSnapshot(b.store), snap);
    }
    // 13: a ratchet header 10^6 messages ahead (n at offset 17 + 2 + 1 + 32 + 4).
    const far = (await a.codec.seal(to, "mid-far-1", "far ahead")).body.slice();
    new DataView(far.buffer).setUint32(56, 1_000_000);
    await rejected(await raw("mid-far-1", far), /too far ahead/);
    assert.equal(cryptoSnapshot(b.store), snap);
    // Bob still reads alice's next message (the skipped keys are kept).
    await a.client.send(to, "still fine");
    await eventually(() => bi.msgs.some((m) => m.text === "still fine"), 3000, "later DM");
    assert.notEqual(cryptoSnapshot(b.store), snap);
    snap = cryptoSnapshot(b.store);
    // 14: a bundle whose signed prekey signature is bad is refused before any session starts.
    const dave = (await ensureDeviceKeys(new MemoryCryptoStore(), Date.now(), 2))!;
    const badSig = {
      ...dave.spk,
      sig: dave.spk.sig.startsWith("A") ? `B${dave.spk.sig.slice(1)}` : `A${dave.spk.sig.slice(1)}`,
    };
    await t.client("dave");
    await t.srv.core.store.putIdentity("dave", JSON.stringify(dave.identity), JSON.stringify(badSig));
    await assert.rejects(() => a.client.send({ kind: "user", name: "dave" }, "x"), /not validly signed/);
  } finally {
    await t.stop();
  }
});

Deno.test("E2E: forged DMs are reported once, acknowledged, and cost nothing on the next read (issue 10 item 8)", async () => {
  const t = await startTestServer();
  try {
    const home = `${t.dir}/home-bob-forged`; // removed with the server's folder
    const b1 = await t.e2eClient("bob", { home });
    await b1.client.close();
    const mallory = await t.client("mallory");
    for (let i = 0; i < 30; i++) {
      const junk = crypto.getRandomValues(new Uint8Array(200));
      await mallory.conn.request("send", { to: { kind: "user", name: "bob" }, mid: `forged-msg-${i}` }, junk);
    }
    const alice = await t.e2eClient("alice");
    await alice.client.send({ kind: "user", name: "bob" }, "a real one after the junk");
    // First read: every forged message is reported, the real one is read, and all are acknowledged.
    const b2 = await t.e2eClient("bob", { home, register: false });
    const notes = inbox(b2.client);
    const first = await b2.client.sync();
    await b2.client.ack(first);
    assert.deepEqual(first.map((m) => m.text), ["a real one after the junk"]);
    assert.equal(notes.notices.filter((n) => n.startsWith("Could not read message")).length, 30);
    await b2.client.close();
    // Next read: nothing comes back.
    const b3 = await t.e2eClient("bob", { home, register: false });
    const again = inbox(b3.client);
    assert.deepEqual(await b3.client.sync(), []);
    assert.equal(again.notices.filter((n) => n.startsWith("Could not read")).length, 0, "not redelivered");
  } finally {
    await t.stop();
  }
});

Deno.test("E2E: the client folder holds no message text in clear (history and outbox sealed, files 0600, folder 0700)", async () => {
  const t = await startTestServer();
  try {
    const home = `${t.dir}/home-bob`;
    await Deno.mkdir(home, { recursive: true, mode: 0o755 });
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob", { home });
    const bi = inbox(b.client);
    await b.client.sync();
    const secret = "client-side-secret-quince";
    await a.client.send({ kind: "user", name: "bob" }, secret);
    await eventually(() => bi.msgs.length === 1, 3000, "bob's DM");
    b.store.addPending({
      mid: "pending-mid-1",
      ts: 1,
      to: { kind: "user", name: "alice" },
      text: `${secret}-outbox`,
    });
    // A row written before the keystore was open (an older client) is sealed at the next unlock.
    b.store.db.prepare(
      "INSERT INTO messages (seq, mid, ts, sender, kind, target, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
      .run(999_999, "legacy-mid", 1, "carol", "user", "bob", `${secret}-legacy`);
    b.store.unlock(b.codec.cs.key);
    assert.equal(b.store.get(999_999)?.text, `${secret}-legacy`, "still readable through the store");
    assert.equal(b.store.pending("pending-mid-1")?.text, `${secret}-outbox`);
    assert.equal(b.store.list("bob", 0, { kind: "user", name: "alice" }).at(-1)?.text, secret);
    let bytes = "";
    const path = LocalStore.pathFor(home, "bob", await serverKey(t.cert));
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      try {
        bytes += new TextDecoder("latin1").decode(await Deno.readFile(f));
        assert.equal((await Deno.stat(f)).mode! & 0o777, 0o600, `${f} is private`);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    assert.ok(bytes.length > 0);
    // The check can fail: the marker stored in clear by hand is found.
    assert.ok(bytes.includes("legacy-mid"), "metadata (ids) are in the file, so text would be seen");
    assert.ok(!bytes.includes(secret), "message text is sealed at rest");
    if (Deno.build.os !== "windows") {
      const { ensureHome } = await import("../lib/client/session/home_dir.ts");
      await ensureHome(home);
      assert.equal((await Deno.stat(home)).mode! & 0o777, 0o700);
    }
  } finally {
    await t.stop();
  }
});
