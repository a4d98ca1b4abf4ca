/**
 * The relay's own rules around its carrier (lib/client/files/upload.ts `relayUpload`), on the fake
 * `file.put` port of tests/relay_fake.ts: WINDOW requests in flight, a body the server takes only in
 * part (even inside a chunk) sent on from the server's offset to the same bytes, and an answer that
 * takes nothing failing the upload (`file_stalled`) instead of looping.
 */
import assert from "node:assert/strict";
import { concatBytes, sha256Hex } from "../lib/common/bytes.ts";
import { BackendError } from "../lib/client/backend.ts";
import { CHUNK_SIZE, ChunkedEncryptor, openFileHeader } from "../lib/crypto/age_stream.ts";
import { chunkOffset, cipherSize, RELAY_BATCH } from "../lib/client/files/layout.ts";
import { relayUpload, WINDOW } from "../lib/client/files/upload.ts";
import { FakeRelay } from "./relay_fake.ts";

const key = new Uint8Array(32).fill(3);
const { header } = await ChunkedEncryptor.create(key); // one header: the same ciphertext every run

/** Sends a file of `chunks` chunks through `relayUpload` to a fake server set up by `tune`. */
async function upload(chunks: number, tune: (s: FakeRelay) => void = () => {}) {
  const dir = await Deno.makeTempDir();
  const size = chunks * CHUNK_SIZE - 100;
  await Deno.writeFile(`${dir}/f`, new Uint8Array(size).map((_, i) => (i * 13) & 255));
  const file = await Deno.open(`${dir}/f`);
  const server = new FakeRelay(cipherSize(size));
  tune(server);
  const bodies: Uint8Array[] = [], seen: number[] = [];
  const taking = (async () => {
    for (let b; (b = await server.next());) bodies.push(b.data);
  })();
  try {
    const src = { file, cipher: await openFileHeader(key, header), header, size };
    const put = server.put.bind(server), direct = () => Promise.resolve(null);
    const how = await relayUpload({ src, put, direct, progress: (d) => seen.push(d) }, 0);
    return { how, server, seen, bytes: () => (server.cut(), taking.then(() => concatBytes(bodies))) };
  } finally {
    file.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("relay: WINDOW file.put requests in flight, progress up to the whole file", async () => {
  const r = await upload(12 * RELAY_BATCH, (s) => (s.hold = WINDOW));
  assert.equal(r.how, "relay");
  assert.equal(r.server.have, r.server.size);
  assert.equal(r.server.mostFlying, WINDOW, "a window of requests in flight");
  assert.equal(r.seen.at(-1), r.server.size, "progress reaches the end");
  assert.ok(r.seen.every((d, k) => k === 0 || d >= r.seen[k - 1]!), "progress never goes back");
});

Deno.test("relay: a body taken only in part (inside a chunk) goes on from the server's offset", async () => {
  const whole = await upload(5 * RELAY_BATCH);
  const expect = await whole.bytes();
  const cutAt = chunkOffset(RELAY_BATCH + 2) + 1000; // inside the second body, inside a chunk
  const r = await upload(5 * RELAY_BATCH, (s) => {
    s.take = (off, len) => off < cutAt && off + len > cutAt ? cutAt - off : len;
  });
  assert.equal(r.how, "relay");
  assert.equal(r.server.have, r.server.size);
  const got = await r.bytes();
  assert.equal(
    await sha256Hex(got),
    await sha256Hex(expect),
    "the same ciphertext, nothing lost or sent twice",
  );
});

Deno.test("relay: an answer that takes nothing fails the upload with file_stalled", async () => {
  await assert.rejects(
    upload(3 * RELAY_BATCH, (s) => (s.take = (off, len) => off === 0 ? len : 0)),
    (e) => e instanceof BackendError && e.code === "file_stalled",
  );
});
