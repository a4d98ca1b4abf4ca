/**
 * `parley-server admin check` and `admin salvage` (issue 68 item 7), run as an operator would: a data
 * folder whose database has a damaged page and a message row with a flipped bit, and one whose older
 * message log has a flipped bit in a closed segment. Check names each and exits 1; the server refuses
 * to start, naming the file; salvage rebuilds (keeping the old files) and lists the seqs lost; then
 * check passes and the server starts, giving seqs above every one stored.
 */
import assert from "node:assert/strict";
import { runProgram, spawnServerProcess } from "./helpers.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import { encodeHeader, RecordWriter } from "../lib/server/store/segment_record_testing.ts";
import type { NewMessage } from "../lib/server/store/store.ts";

const enc = new TextEncoder();
const body = (i: number) => enc.encode(`sealed-${String(i).padStart(5, "0")}-${"z".repeat(60)}`);
const dm = (i: number): NewMessage => ({
  mid: `mid-${i}`,
  sender: "al",
  kind: "user",
  target: "bo",
  conv: "d:al:bo",
  ts: 1_000 + i,
  body: body(i),
});
const find = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).indexOf(needle);

async function folder(n: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "parley-check-" });
  const s = new SqliteStore(`${dir}/parley.db`);
  for (const u of ["al", "bo"]) await s.createUser({ name: u, hash: "h", role: "user", createdAt: 1 });
  for (let i = 1; i <= n; i += 50) await s.appendMessages(Array.from({ length: 50 }, (_, k) => dm(i + k)));
  await s.close();
  return dir;
}

const admin = (what: string, dir: string) => runProgram("server.ts", ["admin", what, "--data", dir]);

Deno.test("admin check names a damaged page and a flipped bit in a message row; the server refuses to start; salvage lists the seqs lost; then all is well", async () => {
  const dir = await folder(1000);
  try {
    const path = `${dir}/parley.db`, f = Deno.readFileSync(path);
    f[find(f, body(77)) + 10]! ^= 0x20; // a bit in seq 77's body
    const page = 4096, leaf = Math.floor(find(f, body(600)) / page) * page;
    f[leaf]! = 0x55; // the page holding seq 600 is no B-tree page any more
    Deno.writeFileSync(path, f);
    const c = await admin("check", dir);
    assert.equal(c.code, 1, c.out + c.err);
    assert.match(c.out, /^ {2}parley\.db {2}\d+ bytes$/m);
    assert.match(c.out, new RegExp(`${path}: .*(malformed|corrupt|btree|page)`, "i"));
    assert.match(c.out, /message rows failing their CRC: seq 77/);
    const start = await spawnServerProcess(dir).then(
      async (s) => (await s.stop(), "started"),
      (e: Error) => e.message,
    );
    assert.match(
      start,
      new RegExp(`${path} is damaged \\(SQLite quick_check: .+\\): run \`parley-server admin check\``),
    );
    const s = await admin("salvage", dir);
    assert.equal(s.code, 0, s.out + s.err);
    assert.match(s.out, /Lost messages \(unreadable or failing their CRC\): seq (\d+(–\d+)?, )*77(, |$|\n)/m);
    assert.match(s.out, /Kept the old files beside it: .*parley\.db\.before-salvage-/);
    const lost = s.out.match(/Lost messages .*: seq (.+)$/m)![1]!;
    assert.ok(/6\d\d/.test(lost), `the rows of the damaged page are listed: ${lost}`);
    const again = await admin("check", dir);
    assert.equal(again.code, 0, again.out);
    const st = new SqliteStore(path, { check: true });
    try {
      const rows = await st.since(0, 2000);
      assert.ok(rows.length > 900 && rows.length < 1000, `${rows.length} rows kept`);
      for (const r of rows) assert.deepEqual(r.body, body(r.seq), `row ${r.seq} whole`);
      const [next] = await st.appendMessages([dm(5000)]);
      assert.equal(next!.seq, 1001, "no seq given twice");
    } finally {
      await st.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an older version's message log with a flipped bit in a closed segment: check names file and byte, the start refuses, salvage imports past it and says after which seq", async () => {
  const dir = await folder(0);
  try {
    const log = `${dir}/parley.db-messages`;
    Deno.mkdirSync(log);
    const seg = (base: number, seqs: number[]) => {
      const w = new RecordWriter();
      for (const q of seqs) w.entry({ ...dm(q), seq: q });
      const p = `${log}/${String(base + 1).padStart(16, "0")}.log`;
      Deno.writeFileSync(p, new Uint8Array([...encodeHeader(base), ...w.bytes]));
      return p;
    };
    const closed = seg(0, [1, 2, 3, 4]);
    seg(4, [5, 6]);
    const b = Deno.readFileSync(closed);
    b[find(b, body(3)) + 5]! ^= 1;
    Deno.writeFileSync(closed, b);
    const c = await admin("check", dir);
    assert.equal(c.code, 1, c.out);
    assert.match(
      c.out,
      new RegExp(`${closed}: bad record at byte \\d+ \\(\\d+ bytes, after seq 2\\): CRC mismatch`),
    );
    const start = await spawnServerProcess(dir).then(
      async (s) => (await s.stop(), "started"),
      (e: Error) => e.message,
    );
    assert.match(start, new RegExp(`${closed}: bad record at byte \\d+ \\(after seq 2\\): CRC mismatch`));
    const s = await admin("salvage", dir);
    assert.equal(s.code, 0, s.out + s.err);
    assert.match(
      s.out,
      /Passed over \d+ damaged byte\(s\) of .*0000000000000001\.log at byte \d+ \(after seq 2\)/,
    );
    const st = new SqliteStore(`${dir}/parley.db`, { check: true });
    try {
      assert.deepEqual((await st.since(0, 100)).map((r) => r.seq), [1, 2, 4, 5, 6]);
    } finally {
      await st.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
