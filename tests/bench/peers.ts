/**
 * Reference rows for the chat bench: redis-server and nats-server, each started in a temporary
 * folder on a free loopback port and stopped by PID, driven by the same Deno process with the
 * same workloads as Parley (A: a room of 100 flat out; A-paced: 600 messages at 200/s; B: 100
 * DM pairs; C: 2,000 idle connections), configured as ../shared/peers measured them: password
 * auth, and either plain TCP with no persistence (`redis`, `nats`) or the same work as Parley
 * (`redis-tls-always`: TLS 1.3, XADD + PUBLISH, AOF fsynced always; `nats-tls`). A server that is not installed is skipped with a row saying
 * so. `ratioRows` prints Parley / Redis for each workload.
 */
import { percentile } from "./load_client.ts";
import { PEER_PASSWORD, PEER_USER, PeerConn, type Proto } from "./peer_client.ts";
import { A_PACED, coldKbPerConn, openMany } from "./chat_load.ts";
import { cpuMicros, phase, repeated, type Row } from "./proc.ts";

const START_MS = 10_000, LOAD_MS = 120_000;
/**
 * Payloads per write in A flat out and in B: the shared harness's (../shared/peers/loadgen.py `--batch`,
 * 16), so the ratios here and there compare the same load. (Issue 37: at 100 a write, redis-tls-always
 * cost 0.285–0.305 µs per delivery in A here against 0.46–0.52 at 16, and the two benches' A ratios
 * disagreed, 1.53× here against 0.72× there; B wrote 50 a write.)
 */
const BATCH = 16;
const BIN_DIRS = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin"];

function findBinary(name: string): string | null {
  for (const d of BIN_DIRS) {
    try {
      if (Deno.statSync(`${d}/${name}`).isFile) return `${d}/${name}`;
    } catch { /* not here */ }
  }
  return null;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

interface Peer {
  proto: Proto;
  pid: number;
  port: number;
  /** The server's certificate (PEM) for the TLS variants. */
  ca?: string;
  stop(): Promise<void>;
}

/** A self-signed ECDSA P-256 certificate for 127.0.0.1 in `dir` (as Parley makes its own), by openssl. */
async function makeCert(dir: string): Promise<{ cert: string; key: string }> {
  const [cert, key] = [`${dir}/cert.pem`, `${dir}/key.pem`];
  const r = await new Deno.Command("openssl", {
    args: [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"],
      ...["-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE"],
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`openssl req: ${new TextDecoder().decode(r.stderr)}`);
  return { cert, key };
}

/** Command-line arguments of redis-server, or the config of nats-server, for each variant. */
async function peerArgs(proto: Proto, dir: string, port: number): Promise<string[]> {
  if (proto === "redis" || proto === "redis-tls-always") {
    const common = [
      ...["--bind", "127.0.0.1", "--save", "", "--requirepass", PEER_PASSWORD, "--protected-mode", "no"],
      ...["--maxclients", "10000", "--daemonize", "no", "--dir", dir, "--logfile", ""],
    ];
    if (proto === "redis") return ["--port", String(port), "--appendonly", "no", ...common];
    const c = await makeCert(dir);
    // TLS 1.3 only; the append-only file fsynced before each write command's reply (`always`).
    return [
      ...["--port", "0", "--tls-port", String(port), "--tls-cert-file", c.cert, "--tls-key-file", c.key],
      ...["--tls-auth-clients", "no", "--tls-protocols", "TLSv1.3"],
      ...["--appendonly", "yes", "--appendfsync", "always", ...common],
    ];
  }
  const tls = proto === "nats-tls"
    ? await makeCert(dir).then((c) => `tls { cert_file: "${c.cert}", key_file: "${c.key}" }\n`)
    : "";
  await Deno.writeTextFile(
    `${dir}/nats.conf`,
    `listen: "127.0.0.1:${port}"\nauthorization { user: "${PEER_USER}", password: "${PEER_PASSWORD}" }\n` +
      `max_connections: 64000\nwrite_deadline: "10s"\n${tls}`,
  );
  return ["-c", `${dir}/nats.conf`];
}

async function startPeer(proto: Proto, bin: string): Promise<Peer> {
  const dir = await Deno.makeTempDir({ prefix: `parley-bench-${proto}-` });
  const port = freePort();
  const args = await peerArgs(proto, dir, port);
  const child = new Deno.Command(bin, { args, cwd: dir, stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await child.status;
    clearTimeout(t);
    await Deno.remove(dir, { recursive: true });
  };
  const deadline = Date.now() + START_MS;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${proto} did not start: ${e}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const ca = proto.endsWith("-tls") || proto.endsWith("-always")
    ? await Deno.readTextFile(`${dir}/cert.pem`)
    : undefined;
  return { proto, pid: child.pid, port, ...(ca ? { ca } : {}), stop };
}

async function withPeer<T>(proto: Proto, bin: string, fn: (p: Peer) => Promise<T>): Promise<T> {
  const p = await startPeer(proto, bin);
  try {
    return await fn(p);
  } finally {
    await p.stop();
  }
}

/** Subscribes `receivers` (topic per receiver), runs `load` and waits for `expected` deliveries. */
async function measure(
  p: Peer,
  receivers: [PeerConn, string][],
  expected: number,
  load: () => Promise<void>,
) {
  const lat = new Float64Array(expected);
  let got = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => finish = r);
  for (const [c, topic] of receivers) {
    await c.subscribe(topic);
    c.onPayload = (sentAt) => {
      if (got < expected) lat[got] = performance.now() - sentAt;
      if (++got === expected) finish();
    };
  }
  const [cpu0, self0] = [await cpuMicros(p.pid), await cpuMicros(Deno.pid)];
  const t0 = performance.now();
  await phase(`${p.proto}: load and ${expected} deliveries`, LOAD_MS, Promise.all([load(), all]));
  const secs = (performance.now() - t0) / 1000;
  const cpu = (await cpuMicros(p.pid)) - cpu0, self = (await cpuMicros(Deno.pid)) - self0;
  lat.sort();
  return { lat, got, secs, cpu, self };
}

const connectAll = (p: Peer, n: number) => openMany(n, 50, (i) => PeerConn.open(p.proto, p.port, i, p.ca));

/**
 * Workload A on a reference: one publisher, `receivers` subscribers of one subject (100; issue 73's big
 * rooms: 1,000), `count` payloads, paced at `perSec` a second (0: batches of BATCH as fast as it goes).
 */
function fanout(p: Peer, name: string, count: number, perSec: number, receivers = 100): Promise<Row[]> {
  return (async () => {
    const conns = await connectAll(p, receivers + 1);
    try {
      const m = await measure(p, conns.slice(1).map((c) => [c, "room"]), count * receivers, async () => {
        const t0 = performance.now();
        for (let sent = 0; sent < count;) {
          if (perSec) {
            const due = t0 + (sent / perSec) * 1000;
            if (performance.now() < due) await new Promise((r) => setTimeout(r, 1));
            else (await conns[0]!.publish("room", 1), sent++);
          } else {
            const k = Math.min(BATCH, count - sent);
            await conns[0]!.publish("room", k);
            sent += k;
          }
        }
      });
      const pre = `ref ${p.proto}: ${name}`;
      return [
        { name: `${pre} deliveries/s`, value: m.got / m.secs, unit: "1/s" },
        { name: `${pre} latency p99`, value: percentile(m.lat, 99), unit: "ms" },
        { name: `${pre} server CPU per delivery`, value: m.cpu / m.got, unit: "µs" },
        { name: `${pre} load generator CPU (this process)`, value: m.self / 1e4 / m.secs, unit: "%" },
      ];
    } finally {
      for (const c of conns) c.close();
    }
  })();
}

async function pairs(p: Peer, per: number): Promise<Row[]> {
  const conns = await connectAll(p, 200);
  try {
    const m = await measure(p, conns.map((c, i) => [c, `u.${i}`]), per * 200, async () => {
      await Promise.all(conns.map(async (c, i) => {
        for (let sent = 0; sent < per; sent += BATCH) {
          await c.publish(`u.${i ^ 1}`, Math.min(BATCH, per - sent));
        }
      }));
    });
    return [
      { name: `ref ${p.proto}: B msgs/s`, value: m.got / m.secs, unit: "1/s" },
      { name: `ref ${p.proto}: B server CPU per delivery`, value: m.cpu / m.got, unit: "µs" },
    ];
  } finally {
    for (const c of conns) c.close();
  }
}

async function idle(p: Peer, n: number): Promise<Row[]> {
  const cold = await coldKbPerConn(p.pid, n, (i) => PeerConn.open(p.proto, p.port, i, p.ca));
  for (const c of cold.conns) c.close();
  return [
    { name: `ref ${p.proto}: C ${n} idle: memory per connection`, value: cold.kb, unit: "KB" },
    { name: `ref ${p.proto}: C ${n} idle: server CPU per connection`, value: cold.cpu, unit: "µs" },
  ];
}

export interface PeerBenchOptions {
  repeat: number;
  fanoutCount: number;
  pairsPer: number;
  idleConns: number;
}

/** The reference servers doing Parley's work: TLS, every message stored before it is delivered. */
const SAME_WORK = [["redis-tls-always", "redis-server"], ["nats-tls", "nats-server"]] as const;

/**
 * Each server of `peers` (a skipped row when its binary is not installed), each of `workloads` on it
 * `repeat` times, each time on a freshly started server (median, range).
 */
async function peerRows(
  peers: readonly (readonly [Proto, string])[],
  repeat: number,
  workloads: ((p: Peer) => Promise<Row[]>)[],
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [proto, binName] of peers) {
    const bin = findBinary(binName);
    if (!bin) {
      rows.push({ name: `ref ${proto}: skipped (${binName} is not installed)`, value: NaN, unit: "" });
      continue;
    }
    for (const w of workloads) rows.push(...await repeated(repeat, () => withPeer(proto, bin, w)));
  }
  return rows;
}

/** Every reference server's rows, each workload `repeat` times (median, range). */
export function benchPeers(o: PeerBenchOptions): Promise<Row[]> {
  return peerRows([["redis", "redis-server"], ["nats", "nats-server"], ...SAME_WORK], o.repeat, [
    (p) => fanout(p, `A 1 room x 100 members, ${o.fanoutCount} msgs:`, o.fanoutCount, 0),
    (p) => fanout(p, A_PACED.name, A_PACED.count, A_PACED.perSec),
    (p) => pairs(p, o.pairsPer),
    (p) => idle(p, o.idleConns),
  ]);
}

/** Only workload B (100 DM pairs) against the same-work servers: `deno task bench dm`. */
export function benchPeersDm(o: { repeat: number; pairsPer: number }): Promise<Row[]> {
  return peerRows(SAME_WORK, o.repeat, [(p) => pairs(p, o.pairsPer)]);
}

/** Only workload A-paced against the same-work servers: `deno task bench paced`. */
export function benchPeersPaced(o: { repeat: number }): Promise<Row[]> {
  return peerRows(SAME_WORK, o.repeat, [(p) => fanout(p, A_PACED.name, A_PACED.count, A_PACED.perSec)]);
}

/**
 * Big rooms (issue 73) on nats-tls: one publisher at `perSec` to `receivers` subscribers of one subject,
 * `count` payloads; one run on a freshly started server (`deno task bench rooms` takes turns with Parley's).
 */
export function benchPeerRoom(
  name: string,
  count: number,
  perSec: number,
  receivers: number,
): Promise<Row[]> {
  return peerRows([SAME_WORK[1]], 1, [(p) => fanout(p, name, count, perSec, receivers)]);
}

/** Only workload C (idle connections) against the same-work servers: `deno task bench conns`. */
export function benchPeersIdle(o: { repeat: number; idleConns: number }): Promise<Row[]> {
  return peerRows(SAME_WORK, o.repeat, [(p) => idle(p, o.idleConns)]);
}

/** Parley / Redis for each workload, from rows already measured (a missing row gives no ratio). */
export function ratioRows(rows: Row[]): Row[] {
  const find = (re: RegExp) => rows.find((r) => re.test(r.name) && Number.isFinite(r.value))?.value;
  const pairsOf: [string, RegExp, RegExp, string?][] = [
    [
      "A server CPU per delivery",
      /^A 1 room.*server CPU per delivery$/,
      /^ref redis: A 1 room.*CPU per delivery$/,
      "≤ 1",
    ],
    ["A-paced latency p99", /^A-paced \d+ msgs.*latency p99$/, /^ref redis: A-paced.*latency p99$/, "≤ 1.5"],
    ["B server CPU per DM", /^B server CPU per delivery$/, /^ref redis: B server CPU per delivery$/, "≤ 3"],
    ["B msgs/s", /^B 100 pairs.*msgs\/s$/, /^ref redis: B msgs\/s$/],
    [
      "C memory per idle connection",
      /^C \d+ idle connections: memory per connection, cold$/,
      /^ref redis: C.*memory/,
    ],
    [
      "C server CPU per connection",
      /^C \d+ idle: server CPU per connection.*cold$/,
      /^ref redis: C.*CPU per connection$/,
    ],
  ];
  // The same work (issue 37): Parley beside Redis over TLS with its AOF fsynced always, and NATS over TLS.
  pairsOf.push(
    [
      "A server CPU per delivery (vs redis-tls-always)",
      /^A 1 room.*server CPU per delivery$/,
      /^ref redis-tls-always: A 1 room.*CPU per delivery$/,
      "≤ 1",
    ],
    [
      "A-paced latency p99 (vs redis-tls-always)",
      /^A-paced \d+ msgs.*latency p99$/,
      /^ref redis-tls-always: A-paced.*latency p99$/,
      "≤ 1",
    ],
    [
      "B server CPU per DM (vs redis-tls-always)",
      /^B server CPU per delivery$/,
      /^ref redis-tls-always: B server CPU per delivery$/,
      "≤ 2",
    ],
    [
      "C memory per idle connection (vs nats-tls)",
      /^C \d+ idle connections: memory per connection, cold$/,
      /^ref nats-tls: C.*memory/,
      "≤ 1",
    ],
    [
      "C server CPU per connection (vs nats-tls)",
      /^C \d+ idle: server CPU per connection.*cold$/,
      /^ref nats-tls: C.*CPU per connection$/,
      "≤ 1",
    ],
  );
  const out: Row[] = [];
  for (const [name, parley, redis, target] of pairsOf) {
    const a = find(parley), b = find(redis);
    if (a === undefined || b === undefined) continue;
    const ref = name.includes("(vs ") ? "reference" : "Redis";
    out.push({ name: `Parley / ${ref}: ${name}`, value: a / b, unit: "×", ...(target ? { target } : {}) });
  }
  // The floor of durable delivery on this runtime (paced_relay.ts, durable) beside the same reference, on
  // Parley's transport and on Deno's own TLS (which the server cannot take); Parley's C beside a server
  // that does a token login and nothing else on its transport (login_floor.ts). No targets.
  const always = find(/^ref redis-tls-always: A-paced.*latency p99$/);
  const floors: [string, RegExp][] = [
    ["Durable relay", /^A-paced reference: a relay that fdatasyncs.* on Parley's transport,.*latency p99$/],
    ["Durable relay on Deno's TLS", /^A-paced reference: a relay that fdatasyncs.* on Deno's own TLS,.*p99$/],
  ];
  for (const [label, re] of floors) {
    const floor = find(re);
    if (floor === undefined || always === undefined) continue;
    out.push({
      name: `${label} / reference: A-paced latency p99 (vs redis-tls-always)`,
      value: floor / always,
      unit: "×",
    });
  }
  const cCpu = find(/^C \d+ idle: server CPU per connection.*cold$/);
  const loginOnly = find(/^C reference: a token login and nothing else.*server CPU per connection, cold$/);
  if (cCpu !== undefined && loginOnly !== undefined) {
    out.push({
      name: "Parley / a token login alone: C server CPU per connection",
      value: cCpu / loginOnly,
      unit: "×",
    });
  }
  return out;
}
