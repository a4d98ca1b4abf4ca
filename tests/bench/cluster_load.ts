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

/**
 * CPU of PostgreSQL's processes: `backends` (one per client connection, "postgres: parley …") and
 * `other` (the postmaster, WAL writer, checkpointer, …).
 */
async function pgCpu(pid: number): Promise<{ backends: number; other: number }> {
  const r = await new Deno.Command("pgrep", { args: ["-P", String(pid)], stdout: "piped" }).output();
  const kids = new TextDecoder().decode(r.stdout).split("\n").filter(Boolean).map(Number);
  const out = { backends: 0, other: await cpuMicros(pid) };
  for (const k of kids) {
    const c = await cpuMicros(k).catch(() => 0); // a backend may have just ended
    const cmd = await new Deno.Command("cat", {
      args: [`/proc/${k}/cmdline`],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    if (new TextDecoder().decode(cmd.stdout).startsWith("postgres: parley")) out.backends += c;
    else out.other += c;
  }
  return out;
}

/** CPU (µs) of each process of the cluster: the nodes, nats-server, PostgreSQL's backends and the rest. */
type Parts = Record<"nodes" | "nats" | "pgBackends" | "pgOther", number>;

interface Cluster {
  nodes: Srv[];
  /** The sum of every process's CPU; each call also records its parts (`spent` compares the last two). */
  cpu(): Promise<number>;
  /** The parts' CPU between the last two `cpu` calls. */
  spent(): Parts;
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
      // One certificate on every node: the database records the first node's key and refuses another.
      for (const f of i ? ["cert.pem", "key.pem"] : []) {
        await Deno.copyFile(`${dirs[0]}/${f}`, `${dirs[i]}/${f}`);
      }
      nodes.push(
        await startServer(dirs[i]!, ["--store", url, "--bus", eng.nats.url, "--cluster-key-file", key]),
      );
    }
    const seen: Parts[] = [];
    const cpu = async () => {
      const pg = await pgCpu(eng.pg.pid);
      const p: Parts = {
        nodes: 0,
        nats: await cpuMicros(eng.nats.pid),
        pgBackends: pg.backends,
        pgOther: pg.other,
      };
      for (const n of nodes) p.nodes += await cpuMicros(n.pid);
      seen.push(p);
      return p.nodes + p.nats + p.pgBackends + p.pgOther;
    };
    const spent = (): Parts => {
      const [a, b] = seen.slice(-2) as [Parts, Parts];
      return {
        nodes: b.nodes - a.nodes,
        nats: b.nats - a.nats,
        pgBackends: b.pgBackends - a.pgBackends,
        pgOther: b.pgOther - a.pgOther,
      };
    };
    return await fn({ nodes, cpu, spent });
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

function rows(name: string, m: Awaited<ReturnType<typeof measure>>, p: Parts): Row[] {
  const per = (what: string, us: number): Row => ({
    name: `${name} CPU per delivery: ${what}`,
    value: us / m.got,
    unit: "µs",
  });
  return [
    { name: `${name} deliveries/s`, value: m.got / m.secs, unit: "1/s" },
    { name: `${name} latency p99`, value: percentile(m.lat, 99), unit: "ms" },
    {
      name: `${name} CPU per delivery (3 nodes + NATS + PostgreSQL)`,
      value: m.cpuMicros / m.got,
      unit: "µs",
    },
    per("the 3 nodes", p.nodes),
    per("nats-server", p.nats),
    per("PostgreSQL backends", p.pgBackends),
    per("PostgreSQL other processes", p.pgOther),
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
    return rows(`cluster A 3 nodes, 1 room x 100 members, ${count} msgs:`, m, c.spent());
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
    return rows(`cluster B 3 nodes, 100 pairs DMs (${per} each):`, m, c.spent());
  });
}

/** `single: false` leaves out the single-node rows (an A/B of the cluster's code alone). */
export async function benchCluster(
  o: { fanoutCount?: number; pairsPer?: number; repeat?: number; single?: boolean } = {},
) {
  const k = Math.max(1, o.repeat ?? 3);
  const fan = o.fanoutCount ?? 2000, per = o.pairsPer ?? 200;
  const [pg, nats] = await Promise.all([startPostgres(), startNats()]);
  try {
    const eng = { pg, nats };
    const single = o.single ?? true;
    return [
      ...single
        ? await repeated(
          k,
          () => fanout(`cluster A single node (SQLite), 1 room x 100 members, ${fan} msgs:`, fan, 0),
        )
        : [],
      ...await repeated(k, () => clusterFanout(eng, fan)),
      ...single ? await repeated(k, () => pairs(per, "cluster B single node (SQLite),")) : [],
      ...await repeated(k, () => clusterPairs(eng, per)),
    ];
  } finally {
    await Promise.all([pg.stop(), nats.stop()]);
  }
}
