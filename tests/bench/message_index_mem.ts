/**
 * The embedded store's message index (issue 37): memory per indexed message and the time to build
 * it, alone and as SqliteStore's rebuild at open, for DMs of 100 pairs, a mix with rooms and
 * broadcasts, and many small conversations. Prints one line per figure.
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

type Shape = "pairs" | "mixed" | "sparse";

/**
 * The `i`th message: DMs of 100 pairs; `mixed`: with rooms of 10 and broadcasts; `sparse`: DMs among
 * 10,000 users in 100,000 conversations (lists of ~10 messages: their fixed cost shows).
 */
function nth(i: number, shape: Shape): NewMessage {
  const ts = 1_700_000_000_000 + i, body = new Uint8Array(0), mid = `${i.toString(36)}-abcdefghijkl`;
  if (shape === "sparse") {
    const c = i % 100_000, sender = `user${c % 10_000}`, target = `user${(c * 7 + 1 + (c >> 4)) % 10_000}`;
    const [x, y] = [sender, target].sort();
    return { mid, sender, kind: "user", target, conv: `d:${x}:${y}`, ts, body };
  }
  const p = i % 200, sender = `user${p}`;
  if (shape === "mixed" && i % 10 === 7) {
    return { mid, sender, kind: "room", target: `room${i % 20}`, conv: `r:room${i % 20}`, ts, body };
  }
  if (shape === "mixed" && i % 50 === 9) {
    return { mid, sender, kind: "broadcast", target: "", conv: "b", ts, body };
  }
  const target = `user${p ^ 1}`, [x, y] = [sender, target].sort();
  return { mid, sender, kind: "user", target, conv: `d:${x}:${y}`, ts, body };
}

/** Memory per message of `n` adds, and the time of the adds alone (the messages made beforehand, a chunk at a time). */
function perMessage(n: number, shape: Shape): void {
  const before = used();
  const ix = new MemoryMessageIndex();
  let ms = 0;
  for (let i = 0; i < n; i += 10_000) {
    const chunk = Array.from(
      { length: Math.min(10_000, n - i) },
      (_, k) => ({ ...nth(i + k, shape), seq: i + k + 1 }),
    );
    const t0 = performance.now();
    for (const m of chunk) ix.add(m, 200);
    ms += performance.now() - t0;
  }
  const bytes = used() - before;
  console.log(
    `index ${shape}: ${ix.count} messages, ${(bytes / n).toFixed(1)} B/message, ${
      (ms * 1000 / n).toFixed(2)
    } µs/add`,
  );
}

async function rebuild(rows: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-msgidx-" });
  try {
    const path = `${dir}/p.db`;
    const s = new SqliteStore(path);
    const body = new Uint8Array(200);
    for (let i = 0; i < rows; i += 1000) {
      await s.appendMessages(Array.from({ length: 1000 }, (_, k) => ({ ...nth(i + k, "pairs"), body })));
    }
    await s.close();
    for (let r = 0; r < 3; r++) {
      const before = used();
      const t0 = performance.now();
      const again = new SqliteStore(path);
      const ms = performance.now() - t0;
      const held = (used() - before) / rows; // the index, the places and the log's bookkeeping
      console.log(
        `open with rebuild: ${rows} rows in ${ms.toFixed(0)} ms (${
          (ms * 100_000 / rows).toFixed(0)
        } ms per 100,000), ${held.toFixed(0)} B/message held`,
      );
      await again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const n = Number(Deno.args[0] ?? 1_000_000), rows = Number(Deno.args[1] ?? 300_000);
for (const shape of ["pairs", "mixed", "sparse"] as const) perMessage(n, shape);
if (rows > 0) await rebuild(rows);
