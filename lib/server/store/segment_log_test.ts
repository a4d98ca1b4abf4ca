/**
 * The message log's tests: the conformance suite (segment_log_conformance.ts) for MemorySegmentLog
 * and for segment files (each case in a temp folder, removed after), then what only files do: a
 * crash cut at every byte of the last records, damage elsewhere, rotation, compaction across
 * segments (tombstones still needed), leftovers at open, refused entries, I/O failure, close.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openSegmentFiles } from "./segment_files.ts";
import { logEntry, segmentLogConformance } from "./segment_log_conformance.ts";
import type { LogEntry, LogPlace, SegmentLog, SegmentLogOptions } from "./segment_log.ts";
import { MemorySegmentLog } from "./segment_memory.ts";

segmentLogConformance("MemorySegmentLog", () => ({ open: (_found, opts) => new MemorySegmentLog(opts) }));

segmentLogConformance("segment files", () => {
  const dir = Deno.makeTempDirSync({ prefix: "parley-seglog-" });
  const open = (found: Parameters<typeof openSegmentFiles>[1], opts?: SegmentLogOptions) =>
    openSegmentFiles(join(dir, "log"), found, opts);
  return { open, reopen: () => open, cleanup: () => Deno.removeSync(dir, { recursive: true }) };
});

/** A temp folder for one test, removed after; `open` opens the log in it (closed after too). */
async function withDir(fn: (dir: string, open: (opts?: SegmentLogOptions) => Opened) => Promise<void>) {
  const root = Deno.makeTempDirSync({ prefix: "parley-seglog-" }),
    dir = join(root, "log"),
    logs: SegmentLog[] = [];
  try {
    await fn(dir, (opts) => {
      const found: Opened["found"] = [];
      const log = openSegmentFiles(dir, (meta, place) => found.push({ seq: meta.seq, place }), opts);
      logs.push(log);
      return { log, found };
    });
  } finally {
    for (const l of logs) l.close();
    Deno.removeSync(root, { recursive: true });
  }
}
interface Opened {
  log: SegmentLog;
  found: { seq: number; place: LogPlace }[];
}

/** The folder's files but its lock file. */
const segFiles = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n !== "lock").sort();
const body = (seq: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (seq * 7 + i) & 255);

Deno.test("segment files: a crash cut anywhere in the last records gives back exactly the whole ones", async () => {
  await withDir(async (dir, open) => {
    const { log } = open();
    await log.append([logEntry(1), logEntry(2)]);
    await log.remove([1]);
    const tail = await log.append([3, 4, 5].map((s) => logEntry(s, { body: body(s, 20) })));
    log.close();
    const file = join(dir, segFiles(dir)[0]!), full = Deno.readFileSync(file);
    const start = tail[0]!.off, ends = tail.map((p) => p.off + p.len);
    assert.equal(ends.at(-1), full.length);
    for (let cut = start; cut < full.length; cut++) {
      Deno.writeFileSync(file, full.subarray(0, cut));
      const whole = ends.filter((e) => e <= cut).length, b = open();
      assert.deepEqual(b.found.map((f) => f.seq), [2, 3, 4, 5].slice(0, 1 + whole), `cut at ${cut}`);
      assert.equal(
        Deno.statSync(file).size,
        whole ? ends[whole - 1] : start,
        `the torn tail is cut off (${cut})`,
      );
      const [p] = await b.log.append([logEntry(9)]);
      assert.equal(b.log.read([p!])[0]!.seq, 9);
      b.log.close();
      const c = open();
      assert.deepEqual(c.found.map((f) => f.seq).at(-1), 9);
      c.log.close();
    }
    // Garbage (zeros: pages never written) over the last record is cut off too.
    Deno.writeFileSync(file, Uint8Array.from(full, (x, i) => i >= tail[2]!.off ? 0 : x));
    assert.deepEqual(open().found.map((f) => f.seq), [2, 3, 4]);
  });
});

Deno.test("segment files: a bad byte in an older segment fails open, naming the file and byte", async () => {
  await withDir(async (dir, open) => {
    const { log } = open({ segmentBytes: 1024 });
    const places: LogPlace[] = [];
    for (let s = 1; s <= 40; s += 4) {
      places.push(...await log.append([s, s + 1, s + 2, s + 3].map((q) => logEntry(q))));
    }
    log.close();
    const files = segFiles(dir), victim = places[2]!;
    assert.ok(files.length > 2 && victim.seg === 1);
    const path = join(dir, files[0]!), bytes = Deno.readFileSync(path);
    bytes[victim.off + victim.len - 1]! ^= 0x40;
    Deno.writeFileSync(path, bytes);
    assert.throws(
      () => open(),
      (e: Error) => e.message.includes(path) && e.message.includes(`byte ${victim.off}`),
    );
    bytes[victim.off + victim.len - 1]! ^= 0x40;
    bytes[3]! ^= 1; // the header
    Deno.writeFileSync(path, bytes);
    assert.throws(() => open(), (e: Error) => e.message.includes(`${path}: bad segment header at byte 0`));
  });
});

Deno.test("segment files: read() refuses a record whose CRC does not match", async () => {
  await withDir(async (dir, open) => {
    const { log } = open();
    const [p] = await log.append([logEntry(1, { body: body(1, 100) })]);
    const path = join(dir, segFiles(dir)[0]!), fd = Deno.openSync(path, { write: true });
    fd.seekSync(p!.off + 60, Deno.SeekMode.Start);
    fd.writeSync(new Uint8Array([0xee]));
    fd.close();
    assert.throws(
      () => log.read([p!]),
      (e: Error) => e.message.includes(`${path}: bad record at byte ${p!.off}`),
    );
  });
});

Deno.test("segment files: rotation at 4 KiB spreads hundreds of entries over segments that all read back", async () => {
  await withDir(async (dir, open) => {
    const { log } = open({ segmentBytes: 4096 });
    const entries: LogEntry[] = [], places: LogPlace[] = [];
    for (let s = 1; s <= 600; s += 7) {
      const batch = Array.from(
        { length: 7 },
        (_, i) => logEntry(s + i, { body: body(s + i, 50 + (s + i) % 100) }),
      );
      entries.push(...batch);
      places.push(...await log.append(batch));
    }
    const files = segFiles(dir), sizes = files.map((f) => Deno.statSync(join(dir, f)).size);
    assert.ok(files.every((f) => /^\d{16}\.log$/.test(f)), files.join());
    assert.equal(files.length, log.stats().segments);
    assert.ok(files.length >= 20, `${files.length} segments`);
    assert.ok(sizes.slice(0, -1).every((n) => n >= 4096 && n < 4096 + 7 * 250), sizes.join());
    assert.equal(sizes.reduce((a, b) => a + b), log.stats().bytes);
    assert.equal(new Set(places.map((p) => p.seg)).size, files.length);
    assert.deepEqual(log.read(places), entries);
    log.close();
    const b = open({ segmentBytes: 4096 });
    assert.deepEqual(b.found.map((f) => f.place), places);
  });
});

Deno.test("segment files: compaction keeps tombstones that still kill entries in older segments", async () => {
  await withDir(async (dir, open) => {
    const { log } = open({ segmentBytes: 2048 });
    const places = new Map<number, LogPlace>();
    const add = async (from: number, to: number) => {
      const batch = Array.from(
        { length: to - from + 1 },
        (_, i) => logEntry(from + i, { body: body(from + i, 60) }),
      );
      (await log.append(batch)).forEach((p, i) => places.set(from + i, p));
    };
    const remove = async (seqs: number[]) => {
      await log.remove(seqs);
      for (const s of seqs) places.delete(s);
    };
    await add(1, 20); // segment 1, full: a few of it die
    await add(21, 30); // segment 2
    await remove([2, 5, 7]); // tombstones in segment 2 killing entries in segment 1
    await add(31, 40); // segment 2 full
    await remove(range(21, 38)); // segment 2 mostly dead (its tombstones are in segment 3)
    await add(41, 80);
    await remove([42, 44, 46]); // tombstones in a newer segment
    await add(81, 100);
    const seg2 = places.get(39)!.seg;
    assert.ok(places.get(1)!.seg === 1 && seg2 === 2, "the layout this test means");
    assert.ok(log.stats().deadBytes > 0);
    await log.compact((seq, to) => {
      assert.ok(places.has(seq), `${seq} is live`);
      places.set(seq, to);
    });
    const sizes = Object.fromEntries(segFiles(dir).map((f) => [f, Deno.statSync(join(dir, f)).size]));
    assert.ok(sizes["0000000000000002.log"]! < 2048 / 2, "segment 2 was rewritten");
    const live = [...places.keys()].sort((a, b) => a - b);
    assert.deepEqual(log.read(live.map((s) => places.get(s)!)).map((e) => e.seq), live);
    log.close();
    const b = open({ segmentBytes: 2048 });
    assert.deepEqual(b.found.map((f) => f.seq), live, "nothing resurrected, nothing lost");
    assert.deepEqual(b.found.map((f) => f.place), live.map((s) => places.get(s)));
    await b.log.remove(range(1, 20)); // segment 1 dies: then segment 2's tombstones are needed no more
    await b.log.append([logEntry(101)]);
    await b.log.compact(() => {});
    b.log.close();
    assert.ok(!segFiles(dir).includes("0000000000000001.log"));
    const c = open();
    assert.deepEqual(c.found.map((f) => f.seq), live.filter((s) => s > 20).concat(101));
  });
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

Deno.test("segment files: open deletes a compaction's leftover temp file and an unwritten new segment", async () => {
  await withDir(async (dir, open) => {
    const { log } = open();
    await log.append([logEntry(1), logEntry(2)]);
    log.close();
    Deno.writeFileSync(join(dir, "0000000000000001.log.tmp"), new Uint8Array(100).fill(7));
    Deno.writeFileSync(join(dir, "0000000000000002.log"), new Uint8Array(5));
    const b = open();
    assert.deepEqual(b.found.map((f) => f.seq), [1, 2]);
    assert.deepEqual(segFiles(dir), ["0000000000000001.log"]);
    await b.log.append([logEntry(3)]);
  });
});

Deno.test("segment files: an entry that cannot be encoded is refused before a byte is written", async () => {
  await withDir(async (dir, open) => {
    const { log } = open();
    await log.append([logEntry(1)]);
    const size = log.stats().bytes;
    const long = "é".repeat(40_000); // 80,000 bytes of UTF-8
    for (const bad of [{ mid: long }, { sender: long }, { target: long }, { conv: long }]) {
      await assert.rejects(log.append([logEntry(2), logEntry(3, bad)]), RangeError);
    }
    await assert.rejects(log.append([logEntry(2, { kind: "nobody" as LogEntry["kind"] })]), RangeError);
    assert.equal(log.stats().bytes, size);
    assert.equal(Deno.statSync(join(dir, segFiles(dir)[0]!)).size, size);
    assert.equal(log.highSeq, 1);
    await log.append([logEntry(2, { mid: "é".repeat(30_000) })]); // 60,000 bytes: within the bound
    log.close();
    assert.deepEqual(open().found.map((f) => f.seq), [1, 2]);
  });
});

Deno.test("segment files: appends and removals queue in call order", async () => {
  await withDir(async (_dir, open) => {
    const { log } = open({ segmentBytes: 512 });
    const calls = [];
    for (let s = 1; s <= 30; s++) {
      calls.push(log.append([logEntry(s)]));
      if (s % 3 === 0) calls.push(log.remove([s - 1]));
    }
    await Promise.all(calls);
    log.close();
    const want = range(1, 30).filter((s) => s % 3 !== 2);
    assert.deepEqual(open().found.map((f) => f.seq), want);
  });
});

Deno.test("segment files: stats() counts dead records and tombstones needed no more, the same after reopening", async () => {
  await withDir(async (dir, open) => {
    const { log } = open({ segmentBytes: 2048 });
    const p = await log.append(range(1, 20).map((s) => logEntry(s, { body: body(s, 60) })));
    const len = (s: number) => p[s - 1]!.len, sum = (seqs: number[]) => seqs.reduce((a, s) => a + len(s), 0);
    const onDisk = () => segFiles(dir).reduce((a, f) => a + Deno.statSync(join(dir, f)).size, 0);
    await log.remove(range(1, 15)); // segment 1 is full: the tombstone goes to segment 2, needed
    assert.deepEqual(log.stats(), { segments: 2, bytes: onDisk(), deadBytes: sum(range(1, 15)) });
    const [p21] = await log.append([logEntry(21), logEntry(22)]);
    await log.remove([21]); // dies in its own segment: its tombstone is not needed
    const dead21 = p21!.len + 8;
    assert.equal(log.stats().deadBytes, sum(range(1, 15)) + dead21);
    await log.compact(() => {});
    assert.deepEqual(log.stats(), { segments: 2, bytes: onDisk(), deadBytes: 15 * 8 + dead21 });
    await log.remove([16]);
    const want = { segments: 2, bytes: onDisk(), deadBytes: 15 * 8 + dead21 + len(16) };
    assert.deepEqual(log.stats(), want);
    log.close();
    assert.deepEqual(open({ segmentBytes: 2048 }).log.stats(), want);
  });
});

Deno.test("segment files: after an I/O error every later write rejects; reads of what is durable go on", async () => {
  await withDir(async (dir, open) => {
    const { log } = open({ segmentBytes: 256 });
    const [p1] = await log.append([logEntry(1, { body: body(1, 300) })]);
    Deno.mkdirSync(join(dir, "0000000000000002.log")); // the next segment's name is taken
    await assert.rejects(log.append([logEntry(2)]), /EEXIST|exists/i);
    await assert.rejects(log.append([logEntry(3)]), /failed, takes nothing more/);
    await assert.rejects(log.remove([1]), /failed, takes nothing more/);
    await assert.rejects(log.compact(() => {}), /failed, takes nothing more/);
    assert.equal(log.read([p1!])[0]!.seq, 1);
  });
});

Deno.test("segment files: close() while an append is in flight lets it finish, then closes", async () => {
  await withDir(async (_dir, open) => {
    const { log } = open();
    const pending = log.append([logEntry(1)]);
    log.close();
    await pending;
    await assert.rejects(log.append([logEntry(2)]), /closed/);
    assert.deepEqual(open().found.map((f) => f.seq), [1]);
  });
});

Deno.test("segment files: one process holds the log: a second open is refused, clearly, until the first closes", async () => {
  await withDir(async (dir, open) => {
    const { log } = open();
    await log.append([logEntry(1)]);
    assert.throws(() => open(), /message log in .* is in use by another process/);
    // Another process is refused as well (the lock is the folder's, not this process's).
    const other = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const f = Deno.openSync(${JSON.stringify(join(dir, "lock"))}, { write: true });
        Deno.exit(f.tryLockSync(true) ? 0 : 3);`,
      ],
    }).outputSync();
    assert.equal(other.code, 3, "another process got the lock");
    log.close();
    assert.deepEqual(open().found.map((f) => f.seq), [1]);
  });
});
