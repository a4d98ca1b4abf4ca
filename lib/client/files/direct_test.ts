/**
 * direct.ts `pushDirect` on a channel that holds its first data frame (issue 36): the next batches
 * are read and encrypted while that frame is still being written (the sender does not wait for the
 * socket before it makes the next frame), a frame's sealed chunks are freed once written and not
 * before, and the sender answers true once the recipient says `OK`.
 */
import assert from "node:assert/strict";
import { CHUNK_SIZE, ChunkedEncryptor, openFileHeader } from "../../crypto/age_stream.ts";
import type { PeerChannel } from "../../net/peer_net.ts";
import { DIRECT_BATCH, encodeIndex, OK, pushDirect } from "./direct.ts";
import { until } from "../../common/wait_testing.ts";

Deno.test("pushDirect: the next batches are made while a frame is written; its chunks are freed once written", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/f.bin`;
  const size = 12 * DIRECT_BATCH * CHUNK_SIZE + 5;
  await Deno.writeFile(path, new Uint8Array(size).map((_, i) => i & 255));
  const key = new Uint8Array(32).fill(7);
  const { header } = await ChunkedEncryptor.create(key);
  const file = await Deno.open(path);
  const read: number[] = [];
  const frames: Uint8Array[][] = [];
  let readBeforeFirst = -1, letFirstGo!: () => void;
  const firstWritten = new Promise<void>((r) => (letFirstGo = r));
  const answers = [encodeIndex(0), OK];
  const ch = {
    recv: () => Promise.resolve(answers.shift() ?? null),
    sendBulk: (b: Uint8Array | readonly Uint8Array[]) => {
      if (b === header) return Promise.resolve();
      frames.push([...(b as Uint8Array[])]);
      if (frames.length > 1) return Promise.resolve();
      readBeforeFirst = read.length;
      return firstWritten; // the socket takes the first frame only once let go
    },
    close: () => {},
  } as unknown as PeerChannel;
  try {
    const src = {
      file,
      cipher: await openFileHeader(key, header),
      header,
      size,
      seen: (p: number) => read.push(p),
    };
    const pushed = pushDirect(ch, src, () => {});
    await until(() => readBeforeFirst >= 0, "the first frame handed to the channel");
    assert.ok(readBeforeFirst > 0, "the first frame was handed to the channel");
    await until(() => read.length > readBeforeFirst, "a batch read while the first frame is written");
    assert.ok(
      read.length > readBeforeFirst,
      `batches read while the first frame is written: ${read.length} after ${readBeforeFirst}`,
    );
    assert.ok(frames[0]!.every((c) => c.length > 0), "a frame being written is not freed");
    letFirstGo();
    assert.equal(await pushed, true);
    assert.equal(read.length, 13, "every batch read once");
    assert.ok(frames.length >= 12);
    for (const [k, f] of frames.entries()) {
      assert.ok(f.every((c) => c.length === 0), `frame ${k}: its sealed chunks freed once written`);
    }
  } finally {
    file.close();
    await Deno.remove(dir, { recursive: true });
  }
});
