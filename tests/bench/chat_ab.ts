/**
 * Chat A/B (issue 37): workload A (a room of 100, 20,000 messages as fast as they go), A-paced
 * (600 messages at 200/s) and B (100 DM pairs, 1,000 DMs each; `pairs`, or PER after a colon:
 * `pairs:300`; `pairs-devices`: B with a device row per user and `devices` named on every DM, as the
 * client sends — every checkout's chat_load.ts must have that option, or its rows say plain `B`) against
 * the servers of several checkouts, interleaved run by run, for a
 * change whose effect is smaller than the drift of a shared machine. Each checkout's own
 * `tests/bench/chat_load.ts` seeds and starts its own `server.ts` (as `deno task bench chat`
 * does); the order rotates every round; then per checkout and row the median, every run, and how
 * many rounds it was best in. The load average is printed with each run: p50/p99 under a busy
 * machine measure the load generator's starvation, not the server.
 *
 *   deno run -A --v8-flags=--expose-gc tests/bench/chat_ab.ts ROUNDS paced|full|both|pairs[-devices][:PER] CHECKOUT...
 *
 * A checkout is a folder with `tests/bench/chat_load.ts` (e.g. `git worktree add --detach` of the
 * base).
 */
import type { Row } from "./proc.ts";

type Fanout = (name: string, count: number, perSec: number) => Promise<Row[]>;
type Pairs = (per: number, label?: string, devices?: boolean) => Promise<Row[]>;

const median = (l: number[]) => [...l].sort((p, q) => p - q)[Math.floor((l.length - 1) / 2)] ?? NaN;

/** Rows where a smaller value is better (all but the rates). */
const lowerIsBetter = (name: string) => !name.endsWith("/s");

async function main(rounds: number, which: string, trees: string[]) {
  const fanouts: Fanout[] = [], pairs: Pairs[] = [];
  for (const t of trees) {
    const mod = await import(`${t}/tests/bench/chat_load.ts`);
    fanouts.push(mod.fanout);
    pairs.push(mod.pairs);
  }
  const per = Number(which.split(":")[1] ?? 1000);
  const tests = which === "both" ? ["paced", "full"] : [which.split(":")[0]!];
  // test → row → checkout index → values (one a round)
  const got = new Map<string, number[][]>();
  for (let r = 0; r < rounds; r++) {
    for (const test of tests) {
      for (let k = 0; k < trees.length; k++) {
        const i = (k + r) % trees.length;
        const rows = test === "paced"
          ? await fanouts[i]!("A-paced", 600, 200)
          : test === "pairs"
          ? await pairs[i]!(per)
          : test === "pairs-devices"
          ? await pairs[i]!(per, "B-devices", true)
          : await fanouts[i]!("A", 20_000, 0);
        for (const row of rows) {
          const key = `${test}\t${row.name}`;
          if (!got.has(key)) got.set(key, trees.map(() => []));
          got.get(key)![i]!.push(row.value);
        }
        const shown = rows.map((x) =>
          `${x.name.replace(/^(A|A-paced|B|B-devices) /, "")} ${x.value.toFixed(2)}`
        );
        console.log(
          `round ${r} ${test} ${trees[i]} load ${Deno.loadavg()[0]!.toFixed(1)}: ${shown.join(", ")}`,
        );
      }
    }
  }
  for (const [key, per] of got) {
    const best = (r: number) => {
      const vals = per.map((v) => v[r] ?? NaN);
      const pick = lowerIsBetter(key) ? Math.min(...vals) : Math.max(...vals);
      return vals.indexOf(pick);
    };
    const wins = per.map((_, i) =>
      Array.from({ length: rounds }, (_, r) => best(r)).filter((b) => b === i).length
    );
    per.forEach((v, i) => {
      const all = v.map((x) => x.toFixed(2)).join(", ");
      console.log(
        `${key}\t${trees[i]}\tmedian ${median(v).toFixed(3)}\tbest in ${wins[i]}/${rounds}\t[${all}]`,
      );
    });
  }
}

if (import.meta.main) {
  const [rounds, which, ...trees] = Deno.args;
  const mode = (which ?? "").split(":")[0]!;
  if (
    !Number(rounds) || !["paced", "full", "both", "pairs", "pairs-devices"].includes(mode) || trees.length < 2
  ) {
    console.error("usage: chat_ab.ts ROUNDS paced|full|both|pairs[-devices][:PER] CHECKOUT CHECKOUT...");
    Deno.exit(2);
  }
  await main(Number(rounds), which!, trees.map((t) => t.replace(/\/$/, "")));
}
