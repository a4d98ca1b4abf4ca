/**
 * The pure parts of file transfers (issue 12): `decodeFileOffer` fuzzed (a well-formed offer, null
 * for another payload kind, or SyntaxError — nothing else), and `safeFileName` for any string:
 * one path component, no separator, no control/bidi character, never "." or "..", no Windows
 * reserved name, at most 200 UTF-8 bytes. Also the ciphertext layout against `encryptFile`, and the
 * list rules both modes share: `pickOffer` (waiting offer N), `pickSent` (file sent N) and `bounded` (200 records, the
 * oldest finished going first; carried_common.ts `keep` over it, peer/files_test.ts).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { utf8, utf8d } from "../../common/bytes.ts";
import { UNSAFE } from "../../common/sanitize.ts";
import { CHUNK_SIZE, encryptFile } from "../../crypto/age_stream.ts";
import { MemoryCryptoStore } from "../../crypto/state_store.ts";
import {
  decodeFileGone,
  decodeFileOffer,
  decodeFileSum,
  encodeFileGone,
  encodeFileOffer,
  encodeFileSum,
  pickOffer,
  pickSent,
} from "./offer.ts";
import { bookWrites, bounded, goneWrites, offerWrites, readBook, sumWrites } from "./book.ts";
import { safeFileName, withNumber } from "./file_name.ts";
import { chunkCount, chunkLength, chunkOffset, cipherSize, plainBefore } from "./layout.ts";

const offer = {
  fid: "abcdefgh12",
  name: "a.txt",
  size: 5,
  key: new Uint8Array(32).fill(1),
  sha256: "0".repeat(64),
};

Deno.test("decodeFileOffer: an offer names its payload format; the old C2SP one (none) or an unknown one is refused clearly", () => {
  const json = JSON.parse(utf8d.decode(encodeFileOffer("mid1", offer)));
  assert.equal(json.fmt, "age");
  const without = { ...json, fmt: undefined };
  assert.throws(
    () => decodeFileOffer(utf8.encode(JSON.stringify(without)), "mid1"),
    /old format \(C2SP chunked\)/,
  );
  assert.throws(
    () => decodeFileOffer(utf8.encode(JSON.stringify({ ...json, fmt: "age-v9" })), "mid1"),
    /format this Parley does not know \(age-v9\)/,
  );
});

Deno.test("decodeFileOffer: round trip, replay under another id refused, fuzzed input throws only SyntaxError", () => {
  const b = encodeFileOffer("mid1", offer);
  assert.deepEqual(decodeFileOffer(b, "mid1"), offer);
  assert.throws(() => decodeFileOffer(b, "mid2"), SyntaxError);
  assert.equal(decodeFileOffer(utf8.encode('{"v":1,"k":"text","mid":"m","text":"hi"}'), "m"), null);
  // A format that is an object whose "toString" is no function is refused as malformed, not a TypeError.
  assert.throws(
    () =>
      decodeFileOffer(
        utf8.encode(JSON.stringify({ ...JSON.parse(utf8d.decode(b)), fmt: { toString: 1 } })),
        "mid1",
      ),
    SyntaxError,
  );
  const json = JSON.parse(new TextDecoder().decode(b));
  const field = fc.oneof(
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.constant(null),
    fc.boolean(),
    fc.object(),
  );
  fc.assert(
    fc.property(fc.constantFrom(...Object.keys(json)), field, (k, v) => {
      try {
        const r = decodeFileOffer(utf8.encode(JSON.stringify({ ...json, [k]: v })), "mid1");
        if (r) assert.equal(r.key.length, 32);
      } catch (e) {
        assert.ok(e instanceof SyntaxError, String(e));
      }
    }),
    { numRuns: 400 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
      try {
        decodeFileOffer(raw, "mid1");
      } catch (e) {
        assert.ok(e instanceof SyntaxError, String(e));
      }
    }),
  );
});

Deno.test("file-sum: an offer may come without its SHA-256; the sum that follows fills only that offer, once", async () => {
  const early = { ...offer, sha256: "" };
  assert.deepEqual(decodeFileOffer(encodeFileOffer("m0", early), "m0"), early);
  const sum = { fid: offer.fid, sha256: "ab".repeat(32) };
  const b = encodeFileSum("m1", sum.fid, sum.sha256);
  assert.deepEqual(decodeFileSum(b, "m1"), sum);
  assert.throws(() => decodeFileSum(b, "m2"), SyntaxError, "replayed under another id");
  assert.equal(decodeFileSum(encodeFileOffer("m1", offer), "m1"), null, "another kind");
  assert.equal(decodeFileOffer(b, "m1"), null);
  for (const bad of ["", "AB".repeat(32), "ab".repeat(31), 7]) {
    const raw = utf8.encode(JSON.stringify({ v: 1, k: "file-sum", mid: "m1", fid: sum.fid, sha256: bad }));
    assert.throws(() => decodeFileSum(raw, "m1"), SyntaxError, String(bad));
  }
  const cs = new MemoryCryptoStore();
  await cs.commit(await offerWrites(cs, "alice", early, 1));
  await cs.commit(await offerWrites(cs, "carol", early, 2)); // the same id from someone else
  const sumOf = async (from: string) => (await readBook(cs)).in.find((r) => r.from === from)!.sha256;
  await cs.commit(await sumWrites(cs, "alice", sum));
  assert.equal(await sumOf("alice"), sum.sha256);
  assert.equal(await sumOf("carol"), "", "only the sender's own offer");
  await cs.commit(await sumWrites(cs, "alice", { ...sum, sha256: "cd".repeat(32) }));
  assert.equal(await sumOf("alice"), sum.sha256, "a second sum changes nothing");
  await cs.commit(await offerWrites(cs, "dave", offer, 3));
  assert.deepEqual(await sumWrites(cs, "dave", sum), { put: {}, del: [] }, "an offer with its sum keeps it");
});

Deno.test("file-gone: only the sender withdraws its own offer, where it made it, and only one not saved yet", async () => {
  const b = encodeFileGone("m1", offer.fid);
  assert.deepEqual(decodeFileGone(b, "m1"), { fid: offer.fid });
  assert.throws(() => decodeFileGone(b, "m2"), SyntaxError, "replayed under another id");
  assert.equal(decodeFileGone(encodeFileOffer("m1", offer), "m1"), null, "another kind");
  assert.equal(decodeFileOffer(b, "m1"), null);
  for (const bad of ["short", "a/b/c/d/e", 7, undefined]) {
    const raw = utf8.encode(JSON.stringify({ v: 1, k: "file-gone", mid: "m1", fid: bad }));
    assert.throws(() => decodeFileGone(raw, "m1"), SyntaxError, String(bad));
  }
  const cs = new MemoryCryptoStore();
  await cs.commit(await offerWrites(cs, "alice", offer, 1));
  await cs.commit(await offerWrites(cs, "carol", offer, 2, "team")); // the same id, someone else's, in a room
  const state = async (from: string) => (await readBook(cs)).in.find((r) => r.from === from)!.state;
  const none = { writes: { put: {}, del: [] } };
  assert.deepEqual(await goneWrites(cs, "mallory", offer.fid), none, "not the sender");
  assert.deepEqual(await goneWrites(cs, "carol", offer.fid), none, "carol's offer was in a room, not a DM");
  assert.deepEqual(await goneWrites(cs, "alice", offer.fid, "team"), none, "alice's was a DM");
  const g = await goneWrites(cs, "alice", offer.fid);
  assert.equal(g.rec?.state, "withdrawn");
  await cs.commit(g.writes);
  assert.equal(await state("alice"), "withdrawn");
  assert.equal(await state("carol"), "offered", "the other sender's offer of the same id stays");
  assert.deepEqual(await goneWrites(cs, "alice", offer.fid), none, "once");
  const book = await readBook(cs);
  await cs.commit(
    bookWrites({ ...book, in: book.in.map((r) => r.from === "carol" ? { ...r, state: "done" } : r) }),
  );
  assert.deepEqual(await goneWrites(cs, "carol", offer.fid, "team"), none, "a saved file stays saved");
});

const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

Deno.test("safeFileName: any received name becomes one safe path component", () => {
  assert.equal(safeFileName("../../x"), "x");
  assert.equal(safeFileName("/etc/passwd"), "passwd");
  assert.equal(safeFileName("C:\\Windows\\win.ini"), "win.ini");
  assert.equal(safeFileName(".."), "file");
  assert.equal(safeFileName("nul"), "_nul");
  assert.equal(safeFileName("LPT1.txt"), "_LPT1.txt");
  assert.equal(safeFileName("a\u0000b\u001b[2Jc"), "a_b_[2Jc");
  assert.equal(withNumber("a.tar.gz", 1), "a.tar (1).gz");
  assert.equal(withNumber("README", 2), "README (2)");
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 600 }), (raw) => {
      const s = safeFileName(raw);
      assert.ok(s.length > 0);
      assert.ok(!/[\\/]/.test(s), s);
      assert.ok(!UNSAFE.test(s), s);
      assert.ok(s !== "." && s !== ".." && !s.startsWith("."), s);
      assert.ok(!RESERVED.test(s), s);
      assert.ok(utf8.encode(s).length <= 200, s);
      assert.equal(safeFileName(s), s, "idempotent");
    }),
    { numRuns: 1000 },
  );
});

Deno.test("file layout: cipherSize and chunk offsets match encryptFile at the chunk edges", async () => {
  const key = new Uint8Array(32).fill(3);
  for (const n of [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE]) {
    const ct = await encryptFile(key, new Uint8Array(n));
    assert.equal(cipherSize(n), ct.length, `size ${n}`);
    const last = chunkCount(n) - 1;
    assert.equal(chunkOffset(last) + chunkLength(n, last), ct.length, `last chunk of ${n}`);
  }
});

Deno.test("plainBefore(): a sender's progress in plaintext bytes — none before the first chunk, all at the end", () => {
  assert.equal(plainBefore(12, 0), 0);
  assert.equal(plainBefore(12, cipherSize(12) - 1), 0);
  assert.equal(plainBefore(12, cipherSize(12)), 12);
  const n = 3 * CHUNK_SIZE + 5;
  assert.equal(plainBefore(n, chunkOffset(1)), CHUNK_SIZE);
  assert.equal(plainBefore(n, chunkOffset(2) + 7), 2 * CHUNK_SIZE);
  assert.equal(plainBefore(n, cipherSize(n)), n);
  assert.equal(plainBefore(0, cipherSize(0)), 0);
});

Deno.test("pickOffer: waiting offer N from 1, else no_offer saying how many wait", () => {
  assert.equal(pickOffer(["a", "b"]), "a");
  assert.equal(pickOffer(["a", "b"], 2), "b");
  assert.throws(() => pickOffer(["a", "b"], 3), {
    code: "no_offer",
    message: "There are only 2 file offers",
  });
  assert.throws(() => pickOffer(["a"], 0), { code: "no_offer" });
  assert.throws(() => pickOffer([]), { code: "no_offer", message: "No file is offered to you" });
});

Deno.test("bounded: past 200 records the oldest finished go first, live ones stay whatever their age", () => {
  const list = Array.from({ length: 203 }, (_, i) => ({ i, live: i < 3 || i === 5 }));
  const out = bounded(list, (r) => r.live);
  assert.equal(out.length, 200);
  assert.deepEqual(out.slice(0, 5).map((r) => r.i), [0, 1, 2, 5, 7], "3 of the oldest finished went");
  assert.deepEqual(bounded(list.slice(0, 200), (r) => r.live), list.slice(0, 200), "at the cap: all kept");
});

Deno.test("pickSent: the file sent numbered N by /files (its w), else no_such_file", () => {
  const list = [{ fid: "a" }, { fid: "b", w: 1 }, { fid: "c" }, { fid: "d", w: 2 }];
  assert.equal(pickSent(list, 1).fid, "b");
  assert.equal(pickSent(list, 2).fid, "d");
  assert.throws(() => pickSent(list, 3), {
    code: "no_such_file",
    message: "There is no file 3 being sent (/files numbers them)",
  });
});
