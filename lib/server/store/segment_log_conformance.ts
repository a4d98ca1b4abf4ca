/**
 * Shared conformance suite for `SegmentLog` (segment_log.ts): every implementation registers it with
 * a factory giving an `open` on fresh, empty storage, e.g.
 * `segmentLogConformance("MemorySegmentLog", () => ({ open: (_f, o) => new MemorySegmentLog(o) }))`.
 * With `reopen` (a log that persists: segment_files.ts) the persistence cases run too: `reopen`
 * opens the same storage again. `cleanup` runs after each case. No file system of its own.
 */
import assert from "node:assert/strict";
import type {
  LogEntry,
  LogMeta,
  LogPlace,
  OpenSegmentLog,
  SegmentLog,
  SegmentLogOptions,
} from "./segment_log.ts";

export interface SegmentLogMaker {
  open: OpenSegmentLog;
  reopen?: () => OpenSegmentLog;
  cleanup?: () => void;
}

/** A log opened by a case and what `open` found. */
export interface Opened {
  log: SegmentLog;
  found: { meta: LogMeta; place: LogPlace }[];
}

/** An entry of seq `seq`, its body 3 bytes unless given. */
export const logEntry = (seq: number, p: Partial<LogEntry> = {}): LogEntry => ({
  seq,
  mid: `m${seq}`,
  sender: "alice",
  kind: "user",
  target: "bob",
  conv: "d:alice:bob",
  ts: 1_700_000_000_000 + seq,
  expires: null,
  body: new Uint8Array([seq & 255, 1, 2]),
  ...p,
});

/** What `open` reports for an entry. */
export const metaOf = ({ body, ...m }: LogEntry): LogMeta => ({
  ...m,
  expires: m.expires ?? null,
  bodyBytes: body.length,
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function segmentLogConformance(name: string, make: () => SegmentLogMaker): void {
  const probe = make();
  const persists = probe.reopen !== undefined;
  probe.cleanup?.();

  const t = (what: string, fn: (o: (opts?: SegmentLogOptions) => Opened, again: typeof o) => Promise<void>) =>
    Deno.test(`${name} ${what}`, async () => {
      const m = make(), logs: SegmentLog[] = [];
      const via = (open: OpenSegmentLog) => (opts?: SegmentLogOptions): Opened => {
        const found: Opened["found"] = [];
        const log = open((meta, place) => found.push({ meta, place }), opts);
        logs.push(log);
        return { log, found };
      };
      const o = via(m.open);
      try {
        await fn(o, (opts) => via(m.reopen!())(opts));
      } finally {
        for (const l of logs) l.close();
        m.cleanup?.();
      }
    });

  t(
    "append() and read() give back every field (non-ASCII, empty and 2 MB bodies, expiry, kinds)",
    async (o) => {
      const { log } = o();
      const big = Uint8Array.from({ length: 2 * 1024 * 1024 + 7 }, (_, i) => (i * 31 + 7) & 255);
      const entries = [
        logEntry(1, {
          mid: "mé-😀",
          sender: "Ünïcödé",
          target: "日本",
          conv: "d:Ünïcödé:日本",
          expires: 5_000,
        }),
        logEntry(2, { kind: "room", target: "#général", conv: "r:#général", body: new Uint8Array(0) }),
        logEntry(3, { kind: "broadcast", target: "", conv: "", body: big, expires: null }),
        logEntry(4, { mid: "", sender: "", ts: 0 }),
      ];
      const copies = entries.map((e) => ({ ...e, body: e.body.slice() }));
      const places = await log.append(entries);
      assert.equal(places.length, 4);
      for (const e of entries) e.body.fill(0); // the caller's buffers are reused: the log kept its own copy
      assert.deepEqual(log.read(places), copies);
      assert.deepEqual(log.read([places[3]!, places[0]!]), [copies[3], copies[0]]);
      assert.deepEqual(await log.append([]), []);
      // No `expires` at all (a stored message as the store builds it) reads back as null.
      const { expires: _, ...bare } = logEntry(5);
      const [p5] = await log.append([bare]);
      assert.equal(log.read([p5!])[0]!.expires, null);
    },
  );

  t("places come back in the entries' order; reads of any subset in any order", async (o) => {
    const { log } = o();
    const a = await log.append(range(1, 5).map((s) => logEntry(s)));
    const b = await log.append(range(6, 10).map((s) => logEntry(s, { body: new Uint8Array(s * 10) })));
    const all = [...a, ...b];
    assert.deepEqual(log.read(all).map((e) => e.seq), range(1, 10));
    assert.deepEqual(log.read([all[9]!, all[2]!, all[3]!, all[0]!]).map((e) => e.seq), [10, 3, 4, 1]);
    assert.deepEqual(log.read([all[4]!, all[5]!]).map((e) => e.body.length), [3, 60]);
  });

  t("highSeq is the highest seq appended, kept after removal", async (o) => {
    const { log } = o();
    assert.equal(log.highSeq, 0);
    await log.append([logEntry(5), logEntry(9)]);
    assert.equal(log.highSeq, 9);
    await log.remove([9, 5]);
    assert.equal(log.highSeq, 9);
  });

  t("seqs must increase above highSeq: a RangeError and nothing stored", async (o) => {
    const { log } = o();
    const [p5] = await log.append([logEntry(5)]);
    await assert.rejects(log.append([logEntry(5)]), RangeError);
    await assert.rejects(log.append([logEntry(7), logEntry(6)]), RangeError);
    await assert.rejects(log.append([logEntry(8), logEntry(8.5)]), RangeError);
    assert.equal(log.highSeq, 5);
    const [p6] = await log.append([logEntry(6)]); // 6 is free: nothing of the failed batches was kept
    assert.deepEqual(log.read([p5!, p6!]).map((e) => e.seq), [5, 6]);
  });

  t("remove() deletes; the others still read; unknown and removed seqs are ignored", async (o) => {
    const { log } = o();
    const p = await log.append(range(1, 5).map((s) => logEntry(s)));
    await log.remove([2, 4, 99, 2]);
    await log.remove([2, 4]);
    await log.remove([]);
    assert.deepEqual(log.read([p[0]!, p[2]!, p[4]!]).map((e) => e.seq), [1, 3, 5]);
    assert.equal(log.highSeq, 5);
  });

  t("stats() counts segments and bytes", async (o) => {
    const { log } = o();
    const empty = log.stats();
    assert.ok(empty.segments >= 1 && empty.deadBytes === 0);
    await log.append(range(1, 10).map((s) => logEntry(s, { body: new Uint8Array(100) })));
    const full = log.stats();
    assert.ok(full.bytes >= empty.bytes + 1000, `${full.bytes} bytes hold 1,000 of bodies`);
    await log.remove(range(1, 5));
    const after = log.stats();
    assert.ok(after.deadBytes >= 0 && after.deadBytes <= after.bytes);
  });

  t("compact() keeps every live entry readable at its moved place", async (o) => {
    const { log } = o({ segmentBytes: 4096 });
    const places = new Map<number, LogPlace>();
    const body = (s: number) => Uint8Array.from({ length: 50 + (s % 90) }, (_, i) => (s + i) & 255);
    for (let s = 1; s <= 400; s += 8) {
      const batch = range(s, s + 7).map((q) => logEntry(q, { body: body(q) }));
      (await log.append(batch)).forEach((p, i) => places.set(batch[i]!.seq, p));
    }
    const gone = range(1, 400).filter((s) => s % 5 !== 0 && s < 300);
    await log.remove(gone);
    for (const s of gone) places.delete(s);
    const before = log.stats();
    const moves: number[] = [];
    await log.compact((seq, to) => {
      assert.ok(places.has(seq), `moved ${seq}, which is not live`);
      moves.push(seq);
      places.set(seq, to);
    });
    assert.equal(new Set(moves).size, moves.length);
    assert.ok(log.stats().deadBytes <= before.deadBytes && log.stats().bytes <= before.bytes);
    const live = [...places.keys()];
    const read = log.read(live.map((s) => places.get(s)!));
    assert.deepEqual(read.map((e) => e.seq), live);
    for (const e of read) assert.deepEqual(e.body, body(e.seq));
    await log.compact(() => assert.fail("a second compaction moves nothing"));
  });

  t("a closed log rejects every call", async (o) => {
    const { log } = o();
    const p = await log.append([logEntry(1)]);
    log.close();
    await assert.rejects(log.append([logEntry(2)]), /closed/);
    await assert.rejects(log.remove([1]), /closed/);
    await assert.rejects(log.compact(() => {}), /closed/);
    assert.throws(() => log.read(p), /closed/);
  });

  if (!persists) return;

  t(
    "reopened, found reports exactly the live entries in seq order, at places that read back",
    async (o, again) => {
      const { log } = o();
      const entries = range(1, 30).map((s) => logEntry(s, { expires: s % 3 ? null : 9_000 + s }));
      for (let s = 0; s < 30; s += 7) await log.append(entries.slice(s, s + 7));
      await log.remove([3, 4, 17, 30]);
      log.close();
      const { log: l2, found } = again();
      const live = entries.filter((e) => ![3, 4, 17, 30].includes(e.seq));
      assert.deepEqual(found.map((f) => f.meta), live.map(metaOf));
      assert.deepEqual(l2.read(found.map((f) => f.place)), live);
      assert.equal(l2.highSeq, 30);
    },
  );

  t("tombstones survive reopening", async (o, again) => {
    const { log } = o();
    await log.append(range(1, 6).map((s) => logEntry(s)));
    await log.remove([2, 5]);
    log.close();
    const b = again();
    assert.deepEqual(b.found.map((f) => f.meta.seq), [1, 3, 4, 6]);
    await b.log.remove([2, 5, 6]);
    b.log.close();
    assert.deepEqual(again().found.map((f) => f.meta.seq), [1, 3, 4]);
  });

  t("highSeq survives removing and compacting everything", async (o, again) => {
    const { log } = o({ segmentBytes: 2048 });
    for (let s = 1; s <= 200; s += 10) await log.append(range(s, s + 9).map((q) => logEntry(q)));
    assert.ok(log.stats().segments > 3, "the entries span several segments");
    await log.remove(range(1, 200));
    await log.compact(() => assert.fail("nothing is live"));
    await log.compact(() => {});
    assert.equal(log.stats().segments, 1, "only the active segment is left");
    log.close();
    const b = again({ segmentBytes: 2048 });
    assert.deepEqual([b.found, b.log.highSeq], [[], 200]);
    await assert.rejects(b.log.append([logEntry(200)]), RangeError);
    await b.log.append([logEntry(201)]);
    b.log.close();
    assert.deepEqual(again().found.map((f) => f.meta.seq), [201]);
  });

  t("floorSeq: highSeq is at least it, kept by a log that was only opened", async (o, again) => {
    const a = o({ floorSeq: 100 });
    assert.equal(a.log.highSeq, 100);
    await assert.rejects(a.log.append([logEntry(50)]), RangeError);
    a.log.close();
    const b = again();
    assert.equal(b.log.highSeq, 100);
    await b.log.append([logEntry(101)]);
    b.log.close();
    const c = again();
    assert.equal(c.log.highSeq, 101);
    c.log.close();
    assert.equal(again({ floorSeq: 500 }).log.highSeq, 500);
  });
}
