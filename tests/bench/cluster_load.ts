/**
 * Bench group `cluster` (issue 16): workloads A (room fan-out) and B (DMs) on three `server.ts`
 * nodes sharing a throwaway PostgreSQL and NATS, with senders and receivers on different nodes
 * (A: the sender on node 1, the 100 members on nodes 2 and 3; B: each pair split over two nodes).
 * Deliveries/s and CPU per delivery summed over the three nodes, nats-server and every PostgreSQL
 * process (read from /proc), printed beside the same workloads on one SQLite node from the same run.
 * The test PostgreSQL runs with fsync off (a throwaway); SQLite commits with synchronous=FULL.
 */
import { newClusterKeyText } from "../../lib/server/bus/seal.ts";
import { PostgresStore } from "../../lib/server/store/postgres_store.ts";
import { startNats, startPostgres, type TestNats, type TestPostgres } from "../cluster_harness.ts";
import { seedStore, type Srv, startServer, stopServer, tokenOf } from "./bench_server.ts";
import { fanout, measure, openMany, pairs, pump, selfRow } from "./chat_load.ts";
import { LoadConn, percentile } from "./load_client.ts";
import { cpuMicros, repeated, type Row } from "./proc.ts";

/** CPU of `pid` and its children (PostgreSQL: the postmaster and a backend per connection). */
async function treeCpu(pid: number): Promise<number> {
  const r = await new Deno.Command("pgrep", { args: ["-P", String(pid)], stdout: "piped" }).output();
  const kids = new TextDecoder().decode(r.stdout).split("\n").filter(Boolean).map(Number);
  let sum = await cpuMicros(pid);
  for (const k of kids) sum += await cpuMicros(k).catch(() => 0); // a backend may have just ended
  return sum;
}

interface Cluster {
  nodes: Srv[];
  cpu(): Promise<number>;
}

/** Seeds users (and a room) into a fresh database, starts three nodes, runs `fn`, cleans up. */
async function withCluster<T>(
  eng: { pg: TestPostgres; nats: TestNats },
  users: string[],
  room: { name: string; members: string[] } | undefined,
  fn: (c: Cluster) => Promise<T>,
): Promise<T> {
  const url = await eng.pg.newDatabase();
  await seedStore(await PostgresStore.open(url), users, room);
  const dirs: string[] = [];
  const nodes: Srv[] = [];
  try {
    let key = "";
    for (let i = 0; i < 3; i++) {
      dirs.push(await Deno.makeTempDir({ prefix: "parley-bench-node-" }));
      if (!key) await Deno.writeTextFile(key = `${dirs[0]}/shared-cluster.key`, newClusterKeyText());
      nodes.push(
        await startServer(dirs[i]!, ["--store", url, "--bus", eng.nats.url, "--cluster-key-file", key]),
      );
    }
    const cpu = async () => {
      let sum = await cpuMicros(eng.nats.pid) + await treeCpu(eng.pg.pid);
      for (const n of nodes) sum += await cpuMicros(n.pid);
      return sum;
    };
    return await fn({ nodes, cpu });
  } finally {
    for (const n of nodes) await stopServer(n);
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

/** Logs `users[i]` into `nodes[nodeOf(i)]`. */
function connectSpread(nodes: Srv[], users: string[], nodeOf: (i: number) => number): Promise<LoadConn[]> {
  return openMany(users.length, 50, async (i) => {
    const s = nodes[nodeOf(i)]!;
    const c = await LoadConn.open(s.port, s.cert);
    await c.login(users[i]!, tokenOf(users[i]!));
    return c;
  });
}

function rows(name: string, m: Awaited<ReturnType<typeof measure>>): Row[] {
  return [
    { name: `${name} deliveries/s`, value: m.got / m.secs, unit: "1/s" },
    { name: `${name} latency p99`, value: percentile(m.lat, 99), unit: "ms" },
    {
      name: `${name} CPU per delivery (3 nodes + NATS + PostgreSQL)`,
      value: m.cpuMicros / m.got,
      unit: "µs",
    },
    selfRow(name, m),
  ];
}

function clusterFanout(eng: { pg: TestPostgres; nats: TestNats }, count: number): Promise<Row[]> {
  const members = Array.from({ length: 101 }, (_, i) => `a${String(i).padStart(3, "0")}`);
  return withCluster(eng, members, { name: "bench", members }, async (c) => {
    // The sender on node 1; members alternate over nodes 2 and 3.
    const conns = await connectSpread(c.nodes, members, (i) => i === 0 ? 0 : 1 + (i % 2));
    const m = await measure(
      c.cpu,
      conns.slice(1),
      count * 100,
      () => pump(conns[0]!, { kind: "room", name: "bench" }, count, 2000, 0, "f"),
    );
    for (const x of conns) x.close();
    return rows(`cluster A 3 nodes, 1 room x 100 members, ${count} msgs:`, m);
  });
}

function clusterPairs(eng: { pg: TestPostgres; nats: TestNats }, per: number): Promise<Row[]> {
  const users = Array.from({ length: 200 }, (_, i) => `p${String(i).padStart(3, "0")}`);
  return withCluster(eng, users, undefined, async (c) => {
    // Pair k is users 2k and 2k+1: on nodes k % 3 and (k + 1) % 3, never the same.
    const conns = await connectSpread(c.nodes, users, (i) => ((i >> 1) + (i & 1)) % 3);
    const m = await measure(c.cpu, conns, per * users.length, async () => {
      await Promise.all(
        conns.map((x, i) => pump(x, { kind: "user", name: users[i ^ 1] }, per, 50, 0, `d${i}-`)),
      );
    });
    for (const x of conns) x.close();
    return rows(`cluster B 3 nodes, 100 pairs DMs (${per} each):`, m);
  });
}

export async function benchCluster(o: { fanoutCount?: number; pairsPer?: number; repeat?: number } = {}) {
  const k = Math.max(1, o.repeat ?? 3);
  const fan = o.fanoutCount ?? 2000, per = o.pairsPer ?? 200;
  const [pg, nats] = await Promise.all([startPostgres(), startNats()]);
  try {
    const eng = { pg, nats };
    return [
      ...await repeated(
        k,
        () => fanout(`cluster A single node (SQLite), 1 room x 100 members, ${fan} msgs:`, fan, 0),
      ),
      ...await repeated(k, () => clusterFanout(eng, fan)),
      ...await repeated(k, () => pairs(per, "cluster B single node (SQLite),")),
      ...await repeated(k, () => clusterPairs(eng, per)),
    ];
  } finally {
    await Promise.all([pg.stop(), nats.stop()]);
  }
}
