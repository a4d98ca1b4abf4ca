/**
 * Issue 36: a peer-mode file is not held to the channel's record rate. Every batch comes as a small
 * `fdata` record and a bulk frame (peer/wire.ts); the listener's and dialler's record bucket
 * (net/peer_net.ts) gives a record's token back when the bulk frame after it is at least
 * `BULK_PAID` bytes. Here the receiver's bucket never refills (a clock that does not move) and
 * holds fewer tokens than the file has batches: the file still comes, at once.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { sha256Hex } from "../../common/bytes.ts";
import { CHUNK_SIZE, ENC_CHUNK_SIZE } from "../../crypto/age_stream.ts";
import { BULK_PAID } from "../../net/peer_net.ts";
import { nextEvent, testNode } from "./events_testing.ts";
import { PEER_BATCH } from "../files/carried_common.ts";

Deno.test("peer files: a batch pays for its record (PEER_BATCH chunks are at least BULK_PAID bytes)", () => {
  assert.ok(PEER_BATCH * ENC_CHUNK_SIZE >= BULK_PAID, "a full batch would spend a record token");
});

Deno.test("peer files: a file of 16 batches comes through a record bucket of 8 tokens that never refills", async () => {
  const dir = await Deno.makeTempDir();
  const frozen = { recordsPerSec: 1, recordsBurst: 8, clock: new ManualClock() };
  const a = await testNode("alice");
  // bob dials: the channel bob reads alice's records on has this bucket
  const b = await testNode("bob", { out: `${dir}/down`, limits: frozen });
  try {
    const up = nextEvent(a, (e) => e.type === "presence" && e.online, 10_000);
    await b.connect(`127.0.0.1:${a.port}`);
    await up;
    const data = new Uint8Array(16 * PEER_BATCH * CHUNK_SIZE).map((_, i) => (i * 7919) >>> 5);
    await Deno.writeFile(`${dir}/big.bin`, data);
    const offered = nextEvent(b, (e) => e.type === "file.offer", 10_000);
    const s = await a.sendFile("bob", `${dir}/big.bin`);
    await offered;
    const r = await b.files.accept();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<string>((
      res,
    ) => (timer = setTimeout(() => res("held by the record rate"), 10_000)));
    const saved = await Promise.race([r.saved, late]).finally(() => clearTimeout(timer));
    assert.notEqual(saved, "held by the record rate");
    assert.equal(await sha256Hex(await Deno.readFile(saved)), await s.sum);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});
