/**
 * The `store` bench group (issue 73): a server's start-up time and resident memory against the
 * messages its embedded store holds. A data folder is filled straight through SQLite (one bulk
 * insert, rows with their CRC: sqlite_store.ts `rowCrc`), not through a server; then `server.ts`
 * is started on it (bench_server.ts) and timed to its listening line, and its RSS read (proc.ts),
 * beside the same with no messages. The first start on a filled folder moves the older messages'
 * keys into the database once (as an upgrade from before issue 73 does): timed apart.
 */
import { DatabaseSync } from "node:sqlite";
import { rowCrc } from "../../lib/server/store/row_crc.ts";
import { seed, startServer, stopServer } from "./bench_server.ts";
import { median, type Row, rssKb } from "./proc.ts";

/** 100 DM pairs, as the chat bench's B: `n` messages of 120-byte bodies, 1 s apart at most. */
export async function fillStore(dir: string, n: number): Promise<void> {
  const users = Array.from({ length: 200 }, (_, i) => `u${i}`);
  await seed(dir, users);
  const db = new DatabaseSync(`${dir}/parley.db`);
  try {
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;");
    const ins = db.prepare(
      "INSERT INTO messages (seq, mid, sender, kind, target, conv, ts, body, expires, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
    );
    const body = new Uint8Array(120).fill(7), t0 = Date.now() - n;
    for (let seq = 1; seq <= n;) {
      db.exec("BEGIN");
      for (const end = Math.min(n, seq + 99_999); seq <= end; seq++) {
        const p = seq % 100, a = `u${2 * p}`, b = `u${2 * p + 1}`;
        const [sender, target] = seq % 2 ? [a, b] : [b, a];
        const m = {
          seq,
          mid: `m${seq}`,
          sender,
          kind: "user" as const,
          target,
          conv: `${a}|${b}`,
          ts: t0 + seq,
          body,
        };
        ins.run(seq, m.mid, sender, "user", target, m.conv, m.ts, body, rowCrc(m));
      }
      db.exec("COMMIT");
    }
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}

/** One start of `server.ts` on `dir`: ms to its listening line and its RSS (KiB) then. */
async function startOnce(dir: string): Promise<{ ms: number; rss: number }> {
  const t = performance.now();
  const s = await startServer(dir);
  const ms = performance.now() - t, rss = await rssKb(s.pid);
  await stopServer(s);
  return { ms, rss };
}

/** Start-up and RSS above an empty store's at each size in `sizes`, `repeat` starts each (medians, ranges). */
export async function benchStoreStart(sizes: readonly number[], repeat: number): Promise<Row[]> {
  const rows: Row[] = [];
  const runs = new Map<number, { ms: number; rss: number }[]>(), first = new Map<number, number>();
  const dirs = new Map<number, string>();
  try {
    for (const n of [0, ...sizes]) {
      const dir = await Deno.makeTempDir({ prefix: "parley-store-bench-" });
      dirs.set(n, dir);
      await fillStore(dir, n);
      first.set(n, (await startOnce(dir)).ms);
      runs.set(n, []);
    }
    for (let r = 0; r < repeat; r++) {
      for (const n of [0, ...sizes]) runs.get(n)!.push(await startOnce(dirs.get(n)!));
    }
  } finally {
    for (const d of dirs.values()) await Deno.remove(d, { recursive: true });
  }
  const empty = median(runs.get(0)!.map((x) => x.rss));
  for (const n of [0, ...sizes]) {
    const ms = runs.get(n)!.map((x) => x.ms), rss = runs.get(n)!.map((x) => (x.rss - empty) / 1024);
    const label = n === 0 ? "empty" : `${n / 1e6}M messages`;
    rows.push({
      name: `server start-up, ${label}`,
      value: median(ms),
      unit: "ms",
      samples: ms,
      ...(n ? { target: "≤ 1000" } : {}),
    });
    if (n) {
      rows.push({
        name: `server first start after the fill, ${label} (keys moved once)`,
        value: first.get(n)!,
        unit: "ms",
      });
      rows.push({
        name: `server RSS above empty, ${label}`,
        value: median(rss),
        unit: "MB",
        samples: rss,
        target: "≤ 64",
      });
    }
  }
  return rows;
}

if (import.meta.main) {
  const sizes = Deno.args.length ? Deno.args.map(Number) : [1_000_000, 3_000_000];
  for (const r of await benchStoreStart(sizes, 3)) console.log(JSON.stringify(r));
}
