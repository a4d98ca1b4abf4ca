/**
 * LogMessages over segment files (small segments, compaction from the first dead byte): after
 * deletions compact the log, every message left reads back through its moved place — bodies, the
 * index's queues and histories — and a reopen finds the same.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type LegacyRows, LogMessages } from "./log_messages.ts";
import { openSegmentFiles } from "./segment_files.ts";
import type { OpenSegmentLog } from "./segment_log.ts";
import type { NewMessage } from "./store.ts";

const NO_LEGACY: LegacyRows = { read: () => [], delete: () => {} };

const dm = (i: number): NewMessage => ({
  mid: `m${i}`,
  sender: i % 2 ? "al" : "bo",
  kind: "user",
  target: i % 2 ? "bo" : "al",
  conv: "d:al:bo",
  ts: 1_000 + i,
  body: Uint8Array.from({ length: 40 + (i % 50) }, (_, k) => (i * 13 + k) & 255),
});

Deno.test("LogMessages: compaction moves what is left; reads, queues, history and a reopen all find it", async () => {
  const dir = join(Deno.makeTempDirSync({ prefix: "parley-logmsg-" }), "log");
  const open: OpenSegmentLog = (found, o) => openSegmentFiles(dir, found, { ...o, segmentBytes: 2048 });
  const make = () => new LogMessages(open, NO_LEGACY, [], 0, 1);
  let lm = make();
  try {
    for (let i = 0; i < 300; i += 10) await lm.append(Array.from({ length: 10 }, (_, k) => dm(i + k)));
    const before = lm.logBytes;
    const keep = (seq: number) => seq % 4 === 0 || seq > 280; // the newest stay in the active segment
    const gone = await lm.remove(lm.seqsAfter(0, 1000).filter((s) => !keep(s)));
    assert.equal(gone.length, 300 - 75 - 15);
    await lm.settled();
    assert.ok(lm.logBytes < before / 2, `compacted: ${before} → ${lm.logBytes} bytes`);
    const want = Array.from({ length: 300 }, (_, i) => i + 1).filter(keep);
    const answers = (m: LogMessages) => ({
      rows: m.rows(m.seqsAfter(0, 1000)).map((r) => [r.seq, r.mid, [...r.body]]),
      bo: m.index.pending({ user: "bo", lo: 0, own: false, rooms: [], acked: () => 0, limit: 1000 }),
      history: m.index.history("d:al:bo", 0, 0, 1000),
      bytes: m.index.senderBytes("al"),
    });
    const now = answers(lm);
    assert.deepEqual(now.rows.map(([seq]) => seq), want);
    for (const [seq, mid, body] of now.rows) {
      const m = dm((seq as number) - 1);
      assert.deepEqual([mid, body], [m.mid, [...m.body]], `message ${seq} after compaction`);
    }
    await lm.close();
    lm = make();
    assert.deepEqual(answers(lm), now, "the same after a reopen");
    const [next] = await lm.append([dm(300)]);
    assert.equal(next?.seq, 301, "no seq given twice");
  } finally {
    await lm.close();
    Deno.removeSync(join(dir, ".."), { recursive: true });
  }
});
