/**
 * Chat workloads A, A-paced, B and C against a real `server.ts` in its own process (so its CPU
 * time can be read from /proc): fan-out in a 100-member room, DMs between 100 pairs, and 2,000
 * idle logged-in connections. Users and resume tokens are seeded into the store before the
 * server starts so that argon2id logins do not dominate set-up.
 */
import { sha256Hex, toHex, utf8 } from "../../lib/common/bytes.ts";
import { SqliteStore } from "../../lib/server/store/sqlite_store.ts";
import { makeSelfSignedCert } from "../../lib/net/cert.ts";
import { LoadConn, percentile } from "./load_client.ts";

export interface Row {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const ROOT = new URL("../..", import.meta.url).pathname;

export const tokenOf = (u: string) =>
  (u + "-".repeat(64)).slice(0, 0) + toHex(utf8.encode(u.padEnd(32, "#"))).slice(0, 64);

export async function seed(dir: string, users: string[], room?: { name: string; members: string[] }) {
  const store = new SqliteStore(`${dir}/parley.db`);
  for (const u of users) {
    await store.createUser({ name: u, hash: "$seeded$", role: "user", createdAt: Date.now() });
    await store.addToken(u, await sha256Hex(tokenOf(u)), Date.now() + 86400_000);
  }
  if (room) {
    await store.createRoom({
      name: room.name,
      createdBy: room.members[0]!,
      createdAt: Date.now(),
      members: room.members.map((user, i) => ({ user, sinceSeq: 0, admin: i === 0 })),
    });
  }
  await store.close();
}

export interface Srv {
  child: Deno.ChildProcess;
  pid: number;
  port: number;
  cert: string;
}

export async function startServer(dir: string, extra: string[] = []): Promise<Srv> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      `${ROOT}server.ts`,
      "--port",
      "0",
      "--data",
      dir,
      "--videos",
      `${dir}/no-videos`,
      "--msg-rate",
      "0",
      "--login-rate",
      "0",
      "--max-conns",
      "10000",
      "--max-conns-per-addr",
      "10000",
      "--log-level",
      "warn",
      ...extra,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
    env: { RUST_BACKTRACE: "0" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const r = await reader.read();
    if (r.done) throw new Error("server exited");
    out += r.value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const port = Number(out.match(/127\.0\.0\.1:(\d+)/)![1]);
  return { child, pid: child.pid, port, cert: await Deno.readTextFile(`${dir}/cert.pem`) };
}

export async function stopServer(s: Srv): Promise<void> {
  s.child.kill("SIGTERM");
  await s.child.status;
}

/** Server CPU time (user + system) in microseconds. */
/** Reads a /proc file through `cat` (Deno grants /proc reads only with --allow-all). */
async function proc(path: string): Promise<string> {
  const r = await new Deno.Command("cat", { args: [path], stdout: "piped" }).output();
  return new TextDecoder().decode(r.stdout);
}

async function cpuMicros(pid: number): Promise<number> {
  const stat = await proc(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10_000; // fields 14 and 15, clock ticks of 10 ms
}

async function rssKb(pid: number): Promise<number> {
  const s = await proc(`/proc/${pid}/status`);
  return Number(s.match(/VmRSS:\s+(\d+)/)![1]);
}

function body100(): Uint8Array {
  const b = new Uint8Array(100);
  new DataView(b.buffer).setFloat64(0, performance.now());
  return b;
}

const sentAt = (f: { body: Uint8Array }) => new DataView(f.body.buffer, f.body.byteOffset, 8).getFloat64(0);

async function connectAll(s: Srv, users: string[], parallel = 50): Promise<LoadConn[]> {
  const out: LoadConn[] = new Array(users.length);
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < users.length) {
      const i = next++;
      const c = await LoadConn.open(s.port, s.cert);
      await c.login(users[i]!, tokenOf(users[i]!));
      out[i] = c;
    }
  }));
  return out;
}

/** Sends `count` messages from `sender` with at most `window` unanswered, optionally paced. */
async function pump(
  sender: LoadConn,
  to: Record<string, unknown>,
  count: number,
  window: number,
  perSec = 0,
  tag = "m",
) {
  let inflight = 0, sent = 0;
  const t0 = performance.now();
  await new Promise<void>((done) => {
    const step = () => {
      while (sent < count && inflight < window) {
        if (perSec && performance.now() - t0 < (sent / perSec) * 1000) {
          setTimeout(step, 1);
          return;
        }
        inflight++;
        const mid = `${tag}${sent++}`.padEnd(8, "_");
        sender.request("send", { to, mid }, body100()).then(() => {
          inflight--;
          if (sent === count && inflight === 0) done();
          else step();
        });
      }
    };
    step();
  });
}

/** Seeds users (and a room), starts a server, runs `fn`, and always cleans up. */
async function withServer<T>(
  users: string[],
  room: { name: string; members: string[] } | undefined,
  fn: (s: Srv) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "parley-bench-" });
  await seed(dir, users, room);
  const s = await startServer(dir);
  try {
    return await fn(s);
  } finally {
    await stopServer(s);
    await Deno.remove(dir, { recursive: true });
  }
}

interface Measured {
  lat: Float64Array;
  got: number;
  secs: number;
  cpuMicros: number;
}

/**
 * Makes `receivers` live, runs `load`, and waits for `expected` deliveries; measures latency per
 * delivery, wall time and the server's CPU time over the load phase only.
 */
async function measure(
  s: Srv,
  receivers: LoadConn[],
  expected: number,
  load: () => Promise<void>,
): Promise<Measured> {
  const lat = new Float64Array(expected);
  let got = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => finish = r);
  for (const r of receivers) {
    await r.ok("sync");
    r.onMsg = (f) => {
      lat[got++] = performance.now() - sentAt(f);
      if (got === expected) finish();
    };
  }
  const cpu0 = await cpuMicros(s.pid);
  const t0 = performance.now();
  await load();
  await all;
  const secs = (performance.now() - t0) / 1000;
  const cpu = (await cpuMicros(s.pid)) - cpu0;
  lat.sort();
  return { lat, got, secs, cpuMicros: cpu };
}

function fanout(name: string, count: number, perSec: number): Promise<Row[]> {
  const members = Array.from({ length: 101 }, (_, i) => `a${String(i).padStart(3, "0")}`);
  return withServer(members, { name: "bench", members }, async (s) => {
    const conns = await connectAll(s, members);
    const receivers = conns.slice(1);
    const m = await measure(
      s,
      receivers,
      count * receivers.length,
      () => pump(conns[0]!, { kind: "room", name: "bench" }, count, 2000, perSec, "f"),
    );
    for (const c of conns) c.close();
    return [
      { name: `${name} deliveries/s`, value: m.got / m.secs, unit: "1/s" },
      { name: `${name} latency p50`, value: percentile(m.lat, 50), unit: "ms" },
      { name: `${name} latency p99`, value: percentile(m.lat, 99), unit: "ms" },
      {
        name: `${name} server CPU per delivery`,
        value: m.cpuMicros / m.got,
        unit: "µs",
        ...(perSec ? {} : { target: "≤ 1" }),
      },
    ];
  });
}

export function pairs(): Promise<Row[]> {
  const users = Array.from({ length: 200 }, (_, i) => `p${String(i).padStart(3, "0")}`);
  return withServer(users, undefined, async (s) => {
    const conns = await connectAll(s, users);
    const per = 1000;
    const m = await measure(s, conns, per * users.length, async () => {
      await Promise.all(
        conns.map((c, i) => pump(c, { kind: "user", name: users[i ^ 1] }, per, 50, 0, `d${i}-`)),
      );
    });
    for (const c of conns) c.close();
    return [
      { name: "B 100 pairs DMs msgs/s", value: m.got / m.secs, unit: "1/s" },
      { name: "B latency p99", value: percentile(m.lat, 99), unit: "ms" },
      { name: "B server CPU per delivery", value: m.cpuMicros / m.got, unit: "µs" },
    ];
  });
}

export function idle(n = 2000): Promise<Row[]> {
  const users = Array.from({ length: n }, (_, i) => `i${String(i).padStart(4, "0")}`);
  const settle = () => new Promise((r) => setTimeout(r, 2000));
  return withServer(users, undefined, async (s) => {
    const warm = await connectAll(s, users.slice(0, 20), 10);
    for (const c of warm) c.close();
    await settle();
    // Cold: the first n connections after start (includes the heap and allocator growing).
    const rss0 = await rssKb(s.pid);
    const t0 = performance.now();
    const conns = await connectAll(s, users, 100);
    const secs = (performance.now() - t0) / 1000;
    await settle();
    const rss1 = await rssKb(s.pid);
    for (const c of conns) c.close();
    await settle();
    // Warm: the same again once memory freed by the first round can be reused.
    const rss2 = await rssKb(s.pid);
    const again = await connectAll(s, users, 100);
    await settle();
    const rss3 = await rssKb(s.pid);
    for (const c of again) c.close();
    const per = (a: number, b: number) => ((b - a) * 1024) / n / 1000;
    return [
      {
        name: `C ${n} idle connections: memory per connection, cold`,
        value: per(rss0, rss1),
        unit: "KB",
        target: "≤ 10",
      },
      { name: `C ${n} idle connections: memory per connection, warm`, value: per(rss2, rss3), unit: "KB" },
      { name: `C time to connect and log in ${n}`, value: secs, unit: "s" },
    ];
  });
}

/** The same cold measurement against a bare Deno TLS echo server: the floor Parley builds on. */
export async function bareTlsFloor(n = 2000): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "parley-bench-" });
  const pair = await makeSelfSignedCert();
  await Deno.writeTextFile(`${dir}/cert.pem`, pair.cert);
  await Deno.writeTextFile(`${dir}/key.pem`, pair.key);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      `${ROOT}tests/bench/bare_tls_server.ts`,
      `${dir}/cert.pem`,
      `${dir}/key.pem`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const conns: Deno.TlsConn[] = [];
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const port = Number((await reader.read()).value);
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    await new Promise((r) => setTimeout(r, 1000));
    const rss0 = await rssKb(child.pid);
    for (let i = 0; i < n; i++) {
      const c = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [pair.cert] });
      await c.write(new Uint8Array(64));
      await c.read(new Uint8Array(64));
      conns.push(c);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const rss1 = await rssKb(child.pid);
    return [{
      name: `C reference: bare Deno TLS, ${n} idle connections, cold`,
      value: ((rss1 - rss0) * 1024) / n / 1000,
      unit: "KB",
    }];
  } finally {
    for (const c of conns) c.close();
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

export async function benchChat(o: { fanoutCount?: number } = {}): Promise<Row[]> {
  return [
    ...await fanout("A 1 room x 100 members, 20k msgs:", o.fanoutCount ?? 20_000, 0),
    ...await fanout("A-paced 600 msgs at 200/s:", 600, 200),
    ...await pairs(),
    ...await idle(),
    ...await bareTlsFloor(),
  ];
}
