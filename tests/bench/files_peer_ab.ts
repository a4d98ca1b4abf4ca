/**
 * Peer-mode files A/B (issue 36), the twin of files_ab.ts for two `parley peer` nodes with no
 * server: each checkout runs its own pair (alice sends, bob receives with --out), connected once;
 * each round copies the file once with each pair, the order swapped every round, and once with scp
 * (files_ref.ts, when sshd is installed) so the ratio is of the same minutes. Per copy: the rate
 * (from `send bob FILE` until bob's `saved` line; `accept` as soon as the offer shows, or nothing
 * with `auto`: bob runs --accept-files and has verified alice), each node's CPU seconds per GiB
 * (/proc) and bob's peak RSS sampled from outside. Then per checkout the medians, how many copies
 * each won (against the other's copy of the same round and place), and its median over scp's.
 * COPIES (default 1): copies per pair and turn, back to back on one channel as `deno task bench
 * files` makes them (3) — with 1, the other pair's copy and scp's come between two copies of a
 * pair, which hid a record rate that held back-to-back copies (issue 36).
 *
 *   deno run -A tests/bench/files_peer_ab.ts MIB ROUNDS CHECKOUT_A CHECKOUT_B [manual|auto] [COPIES]
 *
 * PARLEY_BENCH_PROF=DIR runs the nodes with --cpu-prof into DIR (profiles written when they quit).
 */
import { hashFile } from "../../lib/client/files/disk.ts";
import { ScriptPeer } from "../peer_harness.ts";
import { haveSshd, scpCopy } from "./files_ref.ts";
import { GIB, makeFile, MB, rssPeak } from "./files_proc.ts";
import { clkTck, cpuMicros } from "./proc.ts";

/** CPU microseconds of the main thread (the one running JavaScript) of `pid`. */
async function mainMicros(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/task/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 1e6 / await clkTck();
}

interface Copy {
  rate: number;
  sender: number;
  receiver: number;
  /** the receiver's main thread */
  main: number;
  rss: number;
}

const median = (l: number[]) => [...l].sort((p, q) => p - q)[Math.floor(l.length / 2)] ?? NaN;
const LIMIT = 30 * 60_000;

/** A connected pair of nodes of checkout `tree`. */
async function pair(dir: string, tree: string, auto: boolean) {
  const prof = Deno.env.get("PARLEY_BENCH_PROF");
  const denoArgs = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
  const client = `${tree}/client.ts`;
  const alice = await ScriptPeer.start("alice", `${dir}/a`, { client, denoArgs });
  const bob = await ScriptPeer.start("bob", `${dir}/b`, {
    client,
    denoArgs,
    args: ["--out", `${dir}/down`, ...(auto ? ["--accept-files"] : [])],
  });
  await alice.send(`connect ${bob.addr}`);
  await bob.waitLine(/^connected alice$/);
  if (auto) {
    await bob.verify("alice");
  }
  return { alice, bob };
}

async function copy(p: { alice: ScriptPeer; bob: ScriptPeer }, src: string, sum: string, bytes: number) {
  const { alice, bob } = p;
  const [a0, b0, m0] = [
    await cpuMicros(alice.proc.pid),
    await cpuMicros(bob.proc.pid),
    await mainMicros(bob.proc.pid),
  ];
  const rss = rssPeak(() => Promise.resolve(bob.proc.pid));
  const from = bob.lines.length;
  const t0 = performance.now();
  await alice.send(`send bob ${src}`);
  const got = await bob.waitLine(/^(offer \S+ alice |saved )/, LIMIT, from);
  if (got.startsWith("offer")) await bob.send(`accept ${got.split(" ")[1]}`);
  const saved = await bob.waitLine(/^saved /, LIMIT, from);
  const secs = (performance.now() - t0) / 1000;
  const peak = await rss.stop();
  const [a1, b1, m1] = [
    await cpuMicros(alice.proc.pid),
    await cpuMicros(bob.proc.pid),
    await mainMicros(bob.proc.pid),
  ];
  if (!saved.endsWith(` ${bytes} ${sum}`)) throw new Error(`peer copy: ${saved}`);
  await Deno.remove(saved.split(" ").slice(1, -2).join(" "));
  const gib = bytes / GIB;
  const per = (d: number) => d / 1e6 / gib;
  return {
    rate: bytes / MB / secs,
    sender: per(a1 - a0),
    receiver: per(b1 - b0),
    main: per(m1 - m0),
    rss: peak,
  };
}

async function main(mib: number, rounds: number, trees: [string, string], auto: boolean, copies: number) {
  const bytes = mib * 1024 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "parley-peer-ab-" });
  const src = `${dir}/src.bin`;
  await makeFile(src, bytes);
  const sum = await hashFile(src);
  const pairs = [await pair(`${dir}/0`, trees[0], auto), await pair(`${dir}/1`, trees[1], auto)];
  const got: Copy[][] = [[], []];
  const scp: number[] = [];
  const f = (x: number) => x.toFixed(2);
  try {
    for (const k of [0, 1]) await copy(pairs[k]!, src, sum, bytes); // warm-up
    for (let i = 0; i < rounds; i++) {
      for (const k of i % 2 ? [1, 0] : [0, 1]) {
        for (let j = 0; j < copies; j++) {
          const c = await copy(pairs[k]!, src, sum, bytes);
          got[k]!.push(c);
          const rss = (c.rss / 1024).toFixed(0);
          console.log(
            `${trees[k]}  ${c.rate.toFixed(1)} MB/s  sender ${f(c.sender)}  receiver ${f(c.receiver)} (main ${
              f(c.main)
            }) s/GiB  ${(bytes / MB / c.rate).toFixed(2)} s  rss ${rss} MiB`,
          );
        }
      }
      if (haveSshd()) {
        const r = await scpCopy(dir, src, `${dir}/scp.bin`, bytes);
        await Deno.remove(`${dir}/scp.bin`).catch(() => {});
        scp.push(r[0]!.value);
        console.log(`scp  ${r[0]!.value.toFixed(1)} MB/s  (load ${Deno.loadavg()[0]!.toFixed(2)})`);
      }
    }
  } finally {
    for (const p of pairs) await Promise.all([p.alice.quit(), p.bob.quit()]);
    await Deno.remove(dir, { recursive: true });
  }
  for (const k of [0, 1]) {
    const l = got[k]!, other = got[1 - k]!;
    const won = l.filter((c, i) => c.rate > other[i]!.rate).length;
    const rate = median(l.map((c) => c.rate));
    console.log(
      `median ${trees[k]}: ${rate.toFixed(1)} MB/s (${f(rate / median(scp))}x scp ${
        median(scp).toFixed(1)
      }), sender ${f(median(l.map((c) => c.sender)))}, receiver ${
        f(median(l.map((c) => c.receiver)))
      } s/GiB, rss peak ${
        (Math.max(...l.map((c) => c.rss)) / 1024).toFixed(0)
      } MiB; faster in ${won} of ${l.length}`,
    );
  }
}

if (import.meta.main) {
  const [mib, rounds, a, b, mode = "manual", copies = "1"] = Deno.args;
  if (!a || !b || (mode !== "manual" && mode !== "auto") || !(Number(copies) >= 1)) {
    console.error("usage: files_peer_ab.ts MIB ROUNDS CHECKOUT_A CHECKOUT_B [manual|auto] [COPIES]");
    Deno.exit(2);
  }
  await main(Number(mib), Number(rounds), [a, b], mode === "auto", Number(copies));
}
