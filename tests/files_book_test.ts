/**
 * The one home of transfer records (issue 70, lib/client/files/book.ts): a client folder and a
 * peer-mode folder written in the old layout ("files:in"/"files:out", "pfiles:in"/"pfiles:out") open
 * with their records, the first write moves them into "files:book" and drops the old keys, and the
 * client's book stays sealed at rest like every keystore value.
 */
import assert from "node:assert/strict";
import { utf8 } from "../lib/common/bytes.ts";
import { accountSecrets, newAccountKdf } from "../lib/crypto/account_kdf.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { SqliteCryptoStore } from "../lib/client/session/crypto_store.ts";
import { BOOK_KEY, type InRecord, offerWrites, type OutRecord, readBook } from "../lib/client/files/book.ts";
import { PeerFiles } from "../lib/client/files/carried.ts";
import { PeerStore } from "../lib/client/peer/store.ts";
import { testArgon } from "./helpers.ts";

const KEY_B64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU=";
const oldIn: InRecord = {
  fid: "oldinfid01",
  from: "bob",
  name: "a.txt",
  size: 3,
  key: KEY_B64,
  sha256: "",
  at: 1,
  state: "accepted",
  path: "/tmp/a.txt",
};
const oldOut: OutRecord = {
  fid: "oldoutfid1",
  to: "bob",
  path: "/tmp/b.txt",
  name: "b.txt",
  size: 4,
  mtime: 2,
  sha256: "",
  key: KEY_B64,
  salt: KEY_B64,
  at: 2,
  state: "uploading",
  offered: true,
};

Deno.test("files book: a client folder of the old layout keeps its records, moved into one sealed value at the first write", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/alice.db`;
    const account = await accountSecrets("pw", newAccountKdf(testArgon));
    {
      const local = new LocalStore(path);
      const cs = await SqliteCryptoStore.open(local.db, "pw", account, testArgon);
      await cs.commit({ put: { "files:in": [oldIn], "files:out": [oldOut] }, del: [] }); // as 0.24 wrote them
      local.close();
    }
    const local = new LocalStore(path);
    try {
      const cs = await SqliteCryptoStore.open(local.db, "pw", account, testArgon);
      assert.deepEqual(await readBook(cs), { in: [oldIn], out: [oldOut] }, "read from the old keys");
      const offer = { fid: "newfid0001", name: "c", size: 1, key: new Uint8Array(32), sha256: "" };
      await cs.commit(await offerWrites(cs, "carol", offer, 3));
      assert.deepEqual(cs.keysWith("files:"), [BOOK_KEY], "the old keys are gone, one value holds them");
      const b = await readBook(cs);
      assert.deepEqual(b.in.map((r) => r.fid), [oldIn.fid, offer.fid]);
      assert.deepEqual(b.out, [oldOut]);
      const raw = local.db.prepare("SELECT v FROM e2e_state WHERE k = ?").get(BOOK_KEY)!.v as Uint8Array;
      const text = new TextDecoder("latin1").decode(raw);
      assert.ok(!text.includes(KEY_B64) && !text.includes("oldinfid01"), "sealed at rest");
      assert.ok(raw.length > utf8.encode(JSON.stringify(b)).length, "a sealed record, not the JSON");
    } finally {
      local.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("files book: a peer folder of the old layout keeps both sides; writing one side keeps the other", async () => {
  const dir = await Deno.makeTempDir();
  const host = (store: PeerStore) => ({
    book: store,
    me: "alice",
    via: () => undefined,
    verified: () => true,
    emit: () => {},
  });
  const pin = {
    fid: "pinfid0001",
    peer: "bob",
    name: "a",
    size: 3,
    sha256: "",
    key: KEY_B64,
    hdr: KEY_B64,
    state: "paused",
  };
  const pout = { ...pin, fid: "poutfid001", path: "/tmp/b", mtime: 1, state: "paused" };
  try {
    {
      const store = await PeerStore.open(dir, "alice");
      store.commit({ put: { "pfiles:in": [pin], "pfiles:out": [pout] }, del: [] }); // as 0.24 wrote them
      store.close();
    }
    {
      const store = await PeerStore.open(dir, "alice");
      const files = new PeerFiles(host(store), { downloads: null });
      assert.deepEqual(files.list().map((e) => [e.fid, e.direction, e.state]), [
        [pin.fid, "in", "paused"],
        [pout.fid, "out", "paused"],
      ]);
      assert.ok(files.withdraw(pout.fid)); // writes the sending side
      const book = store.get(BOOK_KEY) as { in: { fid: string }[]; out: unknown[] };
      assert.deepEqual([book.in.map((r) => r.fid), book.out], [[pin.fid], []], "the received side kept");
      files.close();
      assert.equal(store.get("pfiles:in"), undefined);
      assert.equal(store.get("pfiles:out"), undefined);
      assert.ok(store.get(BOOK_KEY));
      store.close();
    }
    const store = await PeerStore.open(dir, "alice");
    const files = new PeerFiles(host(store), { downloads: null });
    assert.deepEqual(files.list().map((e) => e.fid), [pin.fid], "the received side stayed");
    files.close();
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
