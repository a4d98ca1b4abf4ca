/**
 * `deno task bench`: runs every benchmark group and prints one table. Groups: chat (server load
 * A/B/C, then the same workloads against redis-server and nats-server when installed, and the
 * ratio Parley / Redis per workload), cluster (A and B on three nodes beside one SQLite node), crypto,
 * dm (B alone beside redis-tls-always and nats-tls), store (start-up and RSS at 1M and 3M stored messages), logins (a storm of 1,000 password logins, pings meanwhile), rooms (a room of 100 and of 1,000 at 20 msgs/s, beside nats-tls with as many subscribers), conns (C alone beside the runtime's bare TLS floors
 * and redis-tls-always and nats-tls), paced (A-paced alone beside a relay with no chat code on Parley's
 * transport, the runtime's floors for its writes, and redis-tls-always and nats-tls), media, tui, video, terminal (video in a tmux pane beside timg), files (scp, raw TCP and Parley relayed
 * over loopback). `deno task bench chat crypto` runs only those groups.
 * Repeated rows (chat: each workload 3 times, PARLEY_BENCH_REPEAT for more; terminal: each play 3
 * times, PARLEY_BENCH_TERMINAL_REPEAT) print their median with the range. PARLEY_BENCH_QUICK=1 shrinks the chat workloads to check the bench itself quickly.
 */
import { benchChat } from "./chat_load.ts";
import {
  benchPeerRoom,
  benchPeers,
  benchPeersDm,
  benchPeersIdle,
  benchPeersPaced,
  ratioRows,
} from "./peers.ts";
import { A_PACED, benchIdle, fanout, pairs } from "./chat_load.ts";
import { pacedFloor } from "./paced_floor.ts";
import { pacedRelay } from "./paced_relay.ts";
import { repeated } from "./proc.ts";
import { benchCluster } from "./cluster_load.ts";
import { benchFiles } from "./files.ts";
import { benchStoreStart } from "./store_start.ts";
import { benchLoginStorm } from "./login_storm.ts";
import type { Row } from "./proc.ts";
import { benchVideoServer } from "./video.ts";
import { benchTerminalVideo, type Kind } from "./terminal_video.ts";
import { benchCrypto } from "../../lib/crypto/bench.ts";
import { benchMedia } from "../../lib/media/bench.ts";
import { benchTui } from "../../lib/client/tui/bench.ts";
import { testFfmpeg, videoDataDir, VIDEOS_DIR } from "../helpers.ts";

async function media(): Promise<Row[]> {
  const ffmpeg = testFfmpeg();
  if (!ffmpeg) return [{ name: "media: skipped (no ffmpeg)", value: NaN, unit: "" }];
  const dir = await videoDataDir(ffmpeg);
  try {
    const r = (h: number) => `${dir}/renditions/sample/${h}.mp4`;
    return await benchMedia({
      ffmpeg,
      video: `${VIDEOS_DIR}/sample.mp4`,
      renditions: { "240p": r(240), "720p": r(720), "1080p": r(1080) },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

type Group = () => Promise<Row[]>;

const groups: Record<string, Group> = {
  chat: async () => {
    const o = {
      repeat: Math.max(3, Number(Deno.env.get("PARLEY_BENCH_REPEAT") ?? 3)),
      ...(Deno.env.get("PARLEY_BENCH_QUICK") === "1"
        ? { fanoutCount: 200, pairsPer: 20, idleConns: 200 }
        : { fanoutCount: 20_000, pairsPer: 1000, idleConns: 2000 }),
    };
    const parley = await benchChat(o);
    // PARLEY_BENCH_PEERS=0 leaves out the reference servers (redis-server, nats-server).
    const peers = Deno.env.get("PARLEY_BENCH_PEERS") === "0" ? [] : await benchPeers(o);
    return [...parley, ...peers, ...ratioRows([...parley, ...peers])];
  },
  // Only B (100 DM pairs) beside the same-work references (issue 37): quicker than the whole chat group.
  dm: async () => {
    const o = {
      repeat: Math.max(3, Number(Deno.env.get("PARLEY_BENCH_REPEAT") ?? 3)),
      pairsPer: Deno.env.get("PARLEY_BENCH_QUICK") === "1" ? 20 : 1000,
    };
    const parley = await repeated(o.repeat, () => pairs(o.pairsPer));
    const peers = Deno.env.get("PARLEY_BENCH_PEERS") === "0" ? [] : await benchPeersDm(o);
    return [...parley, ...peers, ...ratioRows([...parley, ...peers])];
  },
  // Only C (2,000 idle connections) beside the runtime's TLS floors and the same-work references (issue 37).
  conns: async () => {
    const o = {
      repeat: Math.max(3, Number(Deno.env.get("PARLEY_BENCH_REPEAT") ?? 3)),
      idleConns: Deno.env.get("PARLEY_BENCH_QUICK") === "1" ? 200 : 2000,
    };
    const parley = await benchIdle(o.repeat, o.idleConns);
    const peers = Deno.env.get("PARLEY_BENCH_PEERS") === "0" ? [] : await benchPeersIdle(o);
    return [...parley, ...peers, ...ratioRows([...parley, ...peers])];
  },
  // Only A-paced beside a relay with no chat code on Parley's transport (its latency floor), the same relay
  // with each message written and fdatasynced first (the floor of durable delivery; on Deno's own TLS too),
  // the runtime's floor for one small write a member a message (the fan-out's writes alone, through each
  // way a server could take) and the same-work references (issue 37).
  paced: async () => {
    const repeat = Math.max(3, Number(Deno.env.get("PARLEY_BENCH_REPEAT") ?? 3));
    const parley = [
      ...await repeated(repeat, () => fanout(A_PACED.name, A_PACED.count, A_PACED.perSec)),
      ...await repeated(repeat, () => pacedRelay()),
      ...await repeated(repeat, () => pacedRelay(true)),
      ...await repeated(repeat, () => pacedRelay(true, "deno")),
      ...await repeated(repeat, () => pacedFloor("node")),
      ...await repeated(repeat, () => pacedFloor("deno")),
      ...await repeated(repeat, () => pacedFloor("tcp")),
    ];
    const peers = Deno.env.get("PARLEY_BENCH_PEERS") === "0" ? [] : await benchPeersPaced({ repeat });
    return [...parley, ...peers, ...ratioRows([...parley, ...peers])];
  },
  // Three nodes on PostgreSQL + NATS beside one SQLite node, A and B (issue 16).
  cluster: () =>
    benchCluster({
      repeat: Number(Deno.env.get("PARLEY_BENCH_REPEAT") ?? 3),
      single: Deno.env.get("PARLEY_BENCH_CLUSTER_SINGLE") !== "0",
      ...(Deno.env.get("PARLEY_BENCH_QUICK") === "1" ? { fanoutCount: 100, pairsPer: 10 } : {}),
    }),
  // Start-up and RSS against stored messages (issue 73): 1M and 3M filled straight into SQLite.
  // PARLEY_BENCH_STORE_SIZES (default 1000000,3000000), PARLEY_BENCH_REPEAT (default 3) starts each.
  store: () =>
    benchStoreStart(
      (Deno.env.get("PARLEY_BENCH_STORE_SIZES") ?? "1000000,3000000").split(",").map(Number),
      Number(Deno.env.get("PARLEY_BENCH_REPEAT") ?? 3),
    ),
  // Big rooms (issue 73): one sender at 20 msgs/s to a room of 100 and of 1,000, 200 messages each.
  // PARLEY_BENCH_ROOM_SIZES (default 100,1000): the rooms' sizes.
  rooms: async () => {
    const repeat = Math.max(3, Number(Deno.env.get("PARLEY_BENCH_REPEAT") ?? 3));
    const rows: Row[] = [];
    const peers = Deno.env.get("PARLEY_BENCH_PEERS") !== "0";
    for (const n of (Deno.env.get("PARLEY_BENCH_ROOM_SIZES") ?? "100,1000").split(",").map(Number)) {
      const name = `room of ${n} at 20 msgs/s, 200 msgs:`;
      // Parley and nats-tls (1 publisher, n subscribers of one subject) take turns: each round's pair shares the machine's load.
      rows.push(
        ...await repeated(repeat, async () => [
          ...(await fanout(name, 200, 20, n, true)).map((r) =>
            n === 1000 && r.name === `${name} latency p99` ? { ...r, target: "≤ 10" } : r
          ),
          // The floor: a relay with no chat code on Parley's transport that fdatasyncs each message first.
          ...await pacedRelay(true, "node", { label: name, count: 200, perSec: 20, receivers: n }),
          ...peers ? await benchPeerRoom(name, 200, 20, n) : [],
        ]),
      );
      const floor = roomFloor(rows, name, n);
      if (floor) rows.push(floor);
      const a = rows.find((r) => r.name === `${name} latency p99`)?.value;
      const b = rows.find((r) => r.name === `ref nats-tls: ${name} latency p99`)?.value;
      if (a !== undefined && b !== undefined && Number.isFinite(b)) {
        rows.push({ name: `Parley / nats-tls: ${name} latency p99`, value: a / b, unit: "×" });
      }
    }
    return rows;
  },
  // 1,000 password logins from 200 clients at once, pings answered meanwhile (issue 73).
  logins: () => benchLoginStorm(),
  crypto: () => benchCrypto(),
  // PARLEY_BENCH_FILE_MIB (default 1024): the size copied by scp, raw TCP and Parley.
  files: () =>
    benchFiles(
      Number(Deno.env.get("PARLEY_BENCH_FILE_MIB") ?? 1024),
      Number(Deno.env.get("PARLEY_BENCH_FILE_REPEAT") ?? 3),
    ),
  tui: () => benchTui(),
  media,
  video: () => benchVideoServer(),
  // PARLEY_BENCH_CLIP_SECONDS (default 20), PARLEY_BENCH_RENDERERS=halfblock,kitty, PARLEY_BENCH_TIMG=0,
  // PARLEY_BENCH_TERMINAL_REPEAT (default 3: every play, Parley's and timg's, 3 times, taking turns),
  // PARLEY_BENCH_ACCEPT_ONLY=1 (only the first frame after accepting a stream, per renderer),
  // PARLEY_BENCH_PLAY_ONLY=1 (only the first frame of `play`, per renderer and pane size).
  terminal: () =>
    benchTerminalVideo({
      seconds: Number(Deno.env.get("PARLEY_BENCH_CLIP_SECONDS") ?? 20),
      repeat: Number(Deno.env.get("PARLEY_BENCH_TERMINAL_REPEAT") ?? 3),
      ...(Deno.env.get("PARLEY_BENCH_RENDERERS")
        ? { renderers: Deno.env.get("PARLEY_BENCH_RENDERERS")!.split(",") as Kind[] }
        : {}),
      timg: Deno.env.get("PARLEY_BENCH_TIMG") !== "0",
      acceptOnly: Deno.env.get("PARLEY_BENCH_ACCEPT_ONLY") === "1",
      playOnly: Deno.env.get("PARLEY_BENCH_PLAY_ONLY") === "1",
    }),
};

/**
 * The least p99 a room of `n` can have on this machine while the load generator shares it (issue 73):
 * every message costs the server's and the load generator's CPU per delivery `n` times, spread at
 * best over every core, and 99 % of its deliveries must be done by its p99.
 */
function roomFloor(rows: Row[], name: string, n: number): Row | null {
  const v = (suffix: string) => rows.find((r) => r.name === `${name} ${suffix}`)?.value;
  const server = v("server CPU per delivery"),
    rate = v("deliveries/s"),
    self = v("load generator CPU (this process)");
  if (server === undefined || !rate || self === undefined) return null;
  const cores = navigator.hardwareConcurrency;
  const loadGen = (self / 100) * 1e6 / rate; // µs of the load generator per delivery
  return {
    name: `${name} p99 floor on ${cores} cores (server ${server.toFixed(1)} + load generator ${
      loadGen.toFixed(1)
    } µs per delivery × ${n} × 0.99 / ${cores})`,
    value: ((server + loadGen) * n * 0.99) / cores / 1000,
    unit: "ms",
  };
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

const wanted = Deno.args.length ? Deno.args : Object.keys(groups);
const rows: (Row & { group: string })[] = [];
for (const g of wanted) {
  const fn = groups[g];
  if (!fn) {
    console.error(`Unknown bench group "${g}"; groups: ${Object.keys(groups).join(", ")}`);
    Deno.exit(2);
  }
  const t0 = performance.now();
  for (const r of await fn()) rows.push({ ...r, group: g });
  console.error(`bench ${g}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const range = (r: Row) =>
  r.samples ? `${fmt(Math.min(...r.samples))} – ${fmt(Math.max(...r.samples))} (n=${r.samples.length})` : "";
const w = Math.max(...rows.map((r) => r.name.length), 6);
const rw = Math.max(...rows.map((r) => range(r).length), 5);
console.log(
  `| group  | ${"metric".padEnd(w)} | ${"value".padStart(12)} | ${"range".padEnd(rw)} | unit | target |`,
);
console.log(`|--------|-${"-".repeat(w)}-|-${"-".repeat(12)}-|-${"-".repeat(rw)}-|------|--------|`);
for (const r of rows) {
  console.log(
    `| ${r.group.padEnd(6)} | ${r.name.padEnd(w)} | ${fmt(r.value).padStart(12)} | ${range(r).padEnd(rw)} | ${
      r.unit.padEnd(4)
    } | ${r.target ?? ""} |`,
  );
}
// Rows that failed their check (the terminal group's release check): said again last, and the run fails.
const failed = rows.filter((r) => r.regression);
for (const r of failed) console.log(r.regression);
if (failed.length) Deno.exit(1);
