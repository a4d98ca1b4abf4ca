/**
 * Micro-bench of the message log in segment files (lib/server/store/segment_files.ts; issue 37):
 * 200,000 entries of 200-byte bodies appended in batches of 1,000 (each awaited: write + fdatasync),
 * then 1,000 random places read back (one `read` call, and one call per place; ten rounds of each,
 * after a round of warm-up), 1,000 adjacent ones (one read), then the whole log opened again. Prints CPU (user, system: node:process `cpuUsage`) and wall time per entry. Not a
 * test; run it alone (it measures this process's CPU):
 *
 *   deno run -A tests/bench/segment_log_bench.ts [ENTRIES] [DIR]
 */
import { cpuUsage } from "node:process";
import { join } from "node:path";
import { openSegmentFiles } from "../../lib/server/store/segment_files.ts";
import type { LogEntry, LogPlace } from "../../lib/server/store/segment_log.ts";

const N = Number(Deno.args[0] ?? 200_000);
const BATCH = 1_000;
/** Reads of 1,000 random places are measured this many times (one round is ~4 ms: noisy). */
const ROUNDS = 10;
/** The first appends, reported apart (the JIT compiles the path meanwhile). */
const WARM = 20_000;
const root = Deno.makeTempDirSync({ dir: Deno.args[1], prefix: "parley-seglog-bench-" });
const dir = join(root, "log");

/** CPU and wall time spent inside `timed` calls (µs), summed until `report`. */
const spent = { user: 0, system: 0, wall: 0 };

async function timed<T>(fn: () => Promise<T> | T): Promise<T> {
  const c0 = cpuUsage(), t0 = performance.now();
  const out = await fn();
  const c = cpuUsage(c0);
  spent.user += c.user;
  spent.system += c.system;
  spent.wall += (performance.now() - t0) * 1000;
  return out;
}

/** Prints the time spent so far per unit, and starts again. */
function report(what: string, units: number): void {
  const per = (us: number) => (us / units).toFixed(3).padStart(7);
  const { user, system, wall } = spent;
  console.log(`${what.padEnd(38)} cpu ${per(user + system)} µs (user ${per(user)}, system ${per(system)})`);
  console.log(`${"".padEnd(38)} wall ${per(wall)} µs per unit`);
  Object.assign(spent, { user: 0, system: 0, wall: 0 });
}

const body = new Uint8Array(200).map((_, i) => (i * 37) & 255);
const entry = (seq: number): LogEntry => ({
  seq,
  mid: `01J${seq.toString(36).padStart(10, "0")}XYZ`,
  sender: `user${seq % 100}`,
  kind: "user",
  target: `user${(seq * 7) % 100}`,
  conv: `d:user${seq % 100}:user${(seq * 7) % 100}`,
  ts: 1_700_000_000_000 + seq,
  expires: null,
  body,
});

try {
  let log = openSegmentFiles(dir, () => {});
  const places: LogPlace[] = [];
  for (let b = 0; b < N / BATCH; b++) { // each batch made just before (hot, as a server's is); append timed
    const batch = Array.from({ length: BATCH }, (_, i) => entry(b * BATCH + i + 1));
    places.push(...await timed(() => log.append(batch)));
    if (b === WARM / BATCH - 1) report(`append: first ${WARM} (JIT warm-up)`, WARM);
  }
  report(`append: the other ${N - WARM}`, N - WARM);
  console.log(`  log: ${JSON.stringify(log.stats())}`);
  const random = () =>
    Array.from({ length: 1_000 }, () => places[Math.floor(Math.random() * places.length)]!);
  log.read(random()); // the JIT's warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const pick = random();
    await timed(() => log.read(pick));
  }
  report(`read 1,000 random places (1 call) ×${ROUNDS}`, 1_000 * ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    const pick = random();
    await timed(() => pick.map((p) => log.read([p])));
  }
  report(`read 1,000 random places (1 each) ×${ROUNDS}`, 1_000 * ROUNDS);
  await timed(() => log.read(places.slice(5_000, 6_000)));
  report("read 1,000 adjacent places (1 call)", 1_000);
  log.close();
  let found = 0;
  log = await timed(() => openSegmentFiles(dir, () => found++));
  report(`open (${N} live entries)`, N);
  if (found !== N) throw new Error(`open found ${found} of ${N}`);
  log.close();
} finally {
  Deno.removeSync(root, { recursive: true });
}
