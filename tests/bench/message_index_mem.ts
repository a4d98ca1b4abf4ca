/**
 * The embedded store's message index (issue 37): memory per indexed message and the time to build
 * it, alone and as SqliteStore's rebuild at open, for DMs of 100 pairs (and a mix with rooms and
 * broadcasts). Prints one line per figure.
 *
 *   deno run -A --v8-flags=--expose-gc tests/bench/message_index_mem.ts [MESSAGES] [ROWS]
 */
import { MemoryMessageIndex } from "../../lib/server/store/message_index.ts";
import { SqliteStore } from "../../lib/server/store/sqlite_store.ts";
import type { NewMessage } from "../../lib/server/store/store.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

/** Heap and off-heap (typed arrays' buffers) bytes in use, after a full collection. */
function used(): number {
  gc!();
  gc!();
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

/** The `i`th message: DMs of 100 pairs, or with `mixed` also rooms of 10 and broadcasts. */
function nth(i: number, mixed: boolean): NewMessage {
  const p = i % 200, sender = `user${p}`, ts = 1_700_000_000_000 + i;
  const body = new Uint8Array(0);
  if (mixed && i % 10 === 7) {
    return { mid: `m${i}`, sender, kind: "room", target: `room${i % 20}`, conv: `r:room${i % 20}`, ts, body };
  }
  if (mixed && i % 50 === 9) {
    return { mid: `m${i}`, sender, kind: "broadcast", target: "", conv: "b", ts, body };
  }
  const target = `user${p ^ 1}`, [x, y] = [sender, target].sort();
  return { mid: crypto.randomUUID(), sender, kind: "user", target, conv: `d:${x}:${y}`, ts, body };
}

function perMessage(n: number, mixed: boolean): void {
  const before = used();
  const ix = new MemoryMessageIndex();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) ix.add({ ...nth(i, mixed), seq: i + 1 }, 200);
  const ms = performance.now() - t0;
  const bytes = used() - before;
  console.log(
    `index ${mixed ? "mixed" : "100 DM pairs"}: ${n} messages, ${(bytes / n).toFixed(1)} B/message, ` +
      `${(ms * 1000 / n).toFixed(2)} µs/add (count ${ix.count})`,
  );
}

async function rebuild(rows: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-msgidx-" });
  try {
    const path = `${dir}/p.db`;
    const s = new SqliteStore(path);
    const body = new Uint8Array(200);
    for (let i = 0; i < rows; i += 1000) {
      await s.appendMessages(Array.from({ length: 1000 }, (_, k) => ({ ...nth(i + k, false), body })));
    }
    await s.close();
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      const again = new SqliteStore(path);
      const ms = performance.now() - t0;
      console.log(
        `open with rebuild: ${rows} rows in ${ms.toFixed(0)} ms (${
          (ms * 100_000 / rows).toFixed(0)
        } ms per 100,000)`,
      );
      await again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const n = Number(Deno.args[0] ?? 1_000_000), rows = Number(Deno.args[1] ?? 300_000);
perMessage(n, false);
perMessage(n, true);
await rebuild(rows);
