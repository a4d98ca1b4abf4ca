/**
 * Chat workloads A, A-paced, B and C against a real `server.ts` in its own process (so its CPU
 * time can be read from /proc): fan-out in a 100-member room, DMs between 100 pairs, and 2,000
 * idle logged-in connections, with a bare Deno TLS server measured the same way as C's floor.
 * Users and resume tokens are seeded into the store before the server starts so that argon2id
 * logins do not dominate set-up. Every workload runs `repeat` times (median and range printed);
 * every phase has a deadline; the load generator's own CPU is reported beside the server's.
 */
import { ROOT, type Srv, tokenOf, withServer } from "./bench_server.ts";
import { idleUsers, loginFloor } from "./login_floor.ts";
import { LoadConn, percentile } from "./load_client.ts";
import { cpuMicros, phase, repeated, type Row, rssKb, withRefServer } from "./proc.ts";

export type { Row };

/** Deadlines per phase (generous: they catch a hang, not a slow run). */
const CONNECT_MS = 180_000, LOAD_MS = 300_000;

function body100(): Uint8Array {
  const b = new Uint8Array(100);
  new DataView(b.buffer).setFloat64(0, performance.now());
  return b;
}

const sentAt = (f: { body: Uint8Array }) => new DataView(f.body.buffer, f.body.byteOffset, 8).getFloat64(0);

/** Opens `n` connections with `parallel` at a time (the one connect pattern of every bench row). */
export async function openMany<T>(
  n: number,
  parallel: number,
  open: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await phase(
    `connect ${n}`,
    CONNECT_MS,
    Promise.all(Array.from({ length: parallel }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await open(i);
      }
    })),
  );
  return out;
}

function connectAll(s: Pick<Srv, "port" | "cert">, users: string[], parallel = 50): Promise<LoadConn[]> {
  return openMany(users.length, parallel, async (i) => {
    const c = await LoadConn.open(s.port, s.cert);
    await c.login(users[i]!, tokenOf(users[i]!));
    return c;
  });
}

/** Sends `count` messages from `sender` with at most `window` unanswered, optionally paced. */
export async function pump(
  sender: LoadConn,
  to: Record<string, unknown>,
  count: number,
  window: number,
  perSec = 0,
  tag = "m",
  extra: Record<string, unknown> = {},
) {
  let inflight = 0, sent = 0;
  let waiting = false; // one pacing timer at a time (each reply used to start another 1 ms chain)
  const t0 = performance.now();
  await new Promise<void>((done) => {
    const step = () => {
      while (sent < count && inflight < window) {
        if (perSec && performance.now() - t0 < (sent / perSec) * 1000) {
          if (!waiting) {
            waiting = true;
            setTimeout(() => {
              waiting = false;
              step();
            }, 1);
          }
          return;
        }
        inflight++;
        // Random as a real client's (outbox.ts: 12 random characters), not in order per sender.
        sent++;
        const mid = `${tag}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
        sender.request("send", { to, mid, ...extra }, body100()).then(() => {
          inflight--;
          if (sent === count && inflight === 0) done();
          else step();
        });
      }
    };
    step();
  });
}

export interface Measured {
  lat: Float64Array;
  got: number;
  secs: number;
  cpuMicros: number;
  /** CPU time of this process (the load generator) over the same phase. */
  selfMicros: number;
}

/** Receivers acknowledge the newest message this often, as the real client (ChatClient following the feed) does. */
export const ACK_MS = 500;

/**
 * Every receiver acks its newest message once per ACK_MS, the receivers spread over the interval
 * (independent clients' timers are not in step); returns the function that stops it.
 */
function ackLoop(receivers: LoadConn[]): () => void {
  let on = true, i = 0;
  const step = ACK_MS / Math.max(1, receivers.length);
  const tick = () => {
    if (!on) return;
    receivers[i++ % receivers.length]!.ackNewest();
    timer = setTimeout(tick, step);
  };
  let timer = setTimeout(tick, step);
  return () => {
    on = false;
    clearTimeout(timer);
  };
}

/**
 * Makes `receivers` live, runs `load`, and waits for `expected` deliveries; measures latency per
 * delivery, wall time and the server's CPU time over the load phase only. Receivers ack as the real
 * client does (`ackLoop`), so the server's ack commits are part of every workload.
 */
export async function measure(
  cpu: () => Promise<number>,
  receivers: LoadConn[],
  expected: number,
  load: () => Promise<void>,
): Promise<Measured> {
  const lat = new Float64Array(expected);
  let got = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => finish = r);
  await phase(
    "sync",
    CONNECT_MS,
    Promise.all(receivers.map(async (r) => {
      await r.ok("sync");
      r.onMsg = (f) => {
        lat[got++] = performance.now() - sentAt(f);
        if (got === expected) finish();
      };
    })),
  );
  const [cpu0, self0] = [await cpu(), await cpuMicros(Deno.pid)];
  const t0 = performance.now();
  const stopAcks = ackLoop(receivers);
  try {
    await phase(
      `load and ${expected} deliveries`,
      LOAD_MS,
      (async () => {
        await load();
        await all;
      })(),
    );
  } finally {
    stopAcks();
  }
  const secs = (performance.now() - t0) / 1000;
  const used = (await cpu()) - cpu0;
  const self = (await cpuMicros(Deno.pid)) - self0;
  lat.sort();
  return { lat, got, secs, cpuMicros: used, selfMicros: self };
}

/** The load generator's CPU as a share of one core over the phase: near 100 % means it, not the server, limits. */
export const selfRow = (name: string, m: Measured): Row => ({
  name: `${name} load generator CPU (this process)`,
  value: m.selfMicros / 1e4 / m.secs,
  unit: "%",
});

/** Workload A-paced: its rows' name, its messages and their rate (one home for Parley's and the references'). */
export const A_PACED = { name: "A-paced 600 msgs at 200/s:", count: 600, perSec: 200 } as const;

/** The members of workload A's room: the first sends, the other 100 receive. */
const A_MEMBERS = roomMembers(100);

/** A room's members: the first sends, the other `receivers` receive. */
export function roomMembers(receivers: number): string[] {
  return Array.from(
    { length: receivers + 1 },
    (_, i) => `a${String(i).padStart(receivers < 1000 ? 3 : 4, "0")}`,
  );
}

/**
 * Workload A (`perSec` 0: as fast as the window lets) against Parley's server, started and stopped
 * around it; `receivers`: the room's size but its sender (100; issue 73 measures big rooms with 1,000).
 * `watch`: a user outside the room pings meanwhile (`fanoutOn`).
 */
export function fanout(
  name: string,
  count: number,
  perSec: number,
  receivers = 100,
  watch = false,
): Promise<Row[]> {
  const members = receivers === 100 ? A_MEMBERS : roomMembers(receivers);
  return withServer(
    watch ? [...members, WATCHER] : members,
    { name: "bench", members },
    (s) => fanoutOn(s, name, count, perSec, members, watch ? WATCHER : undefined),
  );
}

/** The user outside the room who pings while it is busy (issue 73: a fan-out should not hold everyone's turn). */
const WATCHER = "w000";
/** How often the watcher pings. */
const WATCH_EVERY_MS = 10;

/**
 * Workload A against the running server `s` (Parley's, or a reference that speaks enough of its
 * protocol: paced_relay.ts): the room's members log in, the first sends `count` messages to room
 * "bench", the others receive them; its rows. `watcher`: a user outside the room who pings every
 * WATCH_EVERY_MS meanwhile: how long another connection waits while the room's writes go out.
 */
export async function fanoutOn(
  s: Pick<Srv, "pid" | "port" | "cert">,
  name: string,
  count: number,
  perSec: number,
  members: readonly string[] = A_MEMBERS,
  watcher?: string,
): Promise<Row[]> {
  const conns = await connectAll(s, [...members]);
  const watch = watcher ? await connectAll(s, [watcher]).then((c) => c[0]!) : null;
  const receivers = conns.slice(1);
  let pinging = true;
  const pings = watch ? pingWhile(watch, () => pinging) : Promise.resolve([]);
  const m = await measure(
    () => cpuMicros(s.pid),
    receivers,
    count * receivers.length,
    () => pump(conns[0]!, { kind: "room", name: "bench" }, count, 2000, perSec, "f"),
  ).finally(() => pinging = false);
  const rtt = Float64Array.from(await pings).sort();
  for (const c of [...conns, ...watch ? [watch] : []]) c.close();
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
    ...watch
      ? [{
        name: `${name} ping p99 of a user outside the room, meanwhile`,
        value: percentile(rtt, 99),
        unit: "ms",
      }]
      : [],
    selfRow(name, m),
  ];
}

/** Round trips of `ping` on `c`, one every WATCH_EVERY_MS while `on()`, in ms. */
async function pingWhile(c: LoadConn, on: () => boolean): Promise<number[]> {
  const out: number[] = [];
  while (on()) {
    const t0 = performance.now();
    await c.ok("ping");
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, WATCH_EVERY_MS));
  }
  return out;
}

/**
 * Workload B: 100 pairs of users DM each other `per` times. `devices`: each account has a device row
 * and every DM names the devices it was encrypted for, as the client's DMs do (the server checks
 * them: `devices_changed`). Then the same again on the same server, as a diagnosis (no target, no
 * reference): the first round pays for compiling the send path and growing the heap (issue 37: about
 * a third of a fresh server's B CPU in the shared harness), the second does not.
 */
export function pairs(per = 1000, label = "B", devices = false): Promise<Row[]> {
  const users = Array.from({ length: 200 }, (_, i) => `p${String(i).padStart(3, "0")}`);
  return withServer(users, undefined, async (s) => {
    const conns = await connectAll(s, users);
    const round = (tag: string) =>
      measure(() => cpuMicros(s.pid), conns, per * users.length, async () => {
        await Promise.all(
          conns.map((c, i) =>
            pump(
              c,
              { kind: "user", name: users[i ^ 1] },
              per,
              50,
              0,
              `${tag}${i}-`,
              devices ? { devices: [users[i ^ 1]] } : {},
            )
          ),
        );
      });
    const m = await round("d");
    const warm = await round("w");
    for (const c of conns) c.close();
    return [
      { name: `${label} 100 pairs DMs (${per} each) msgs/s`, value: m.got / m.secs, unit: "1/s" },
      { name: `${label} latency p99`, value: percentile(m.lat, 99), unit: "ms" },
      { name: `${label} server CPU per delivery`, value: m.cpuMicros / m.got, unit: "µs" },
      selfRow(label, m),
      {
        name:
          `${label} again on the same server (its code compiled, its heap grown): server CPU per delivery`,
        value: warm.cpuMicros / warm.got,
        unit: "µs",
      },
    ];
  }, devices);
}

const settle = () => new Promise((r) => setTimeout(r, 2000));

/**
 * The one KB-per-connection measurement, for Parley, the bare TLS floor and the reference servers
 * alike: 20 warm-up connections (closed), settle, RSS; `n` connections opened 100 at a time (the
 * server's CPU time over that phase, per connection); settle, RSS.
 */
export async function coldKbPerConn<C extends { close(): void }>(
  pid: number,
  n: number,
  open: (i: number) => Promise<C>,
): Promise<{ kb: number; cpu: number; secs: number; conns: C[] }> {
  for (const c of await openMany(20, 10, open)) c.close();
  await settle();
  const rss0 = await rssKb(pid);
  const cpu0 = await cpuMicros(pid);
  const t0 = performance.now();
  const conns = await openMany(n, 100, open);
  const secs = (performance.now() - t0) / 1000;
  const cpu = (await cpuMicros(pid)) - cpu0;
  await settle();
  const rss1 = await rssKb(pid);
  return { kb: ((rss1 - rss0) * 1024) / n / 1000, cpu: cpu / n, secs, conns };
}

/**
 * Opens `n` connections (100 at a time) with `open`; RSS growth per connection, server CPU per
 * connection, and the RSS (KiB) with them all open.
 */
async function warmRound<C extends { close(): void }>(
  pid: number,
  n: number,
  open: (i: number) => Promise<C>,
): Promise<{ kb: number; cpu: number; rss: number; conns: C[] }> {
  const rss0 = await rssKb(pid);
  const cpu0 = await cpuMicros(pid);
  const conns = await openMany(n, 100, open);
  const cpu = (await cpuMicros(pid)) - cpu0;
  await settle();
  const rss1 = await rssKb(pid);
  return { kb: ((rss1 - rss0) * 1024) / n / 1000, cpu: cpu / n, rss: rss1, conns };
}

export function idle(n = 2000): Promise<Row[]> {
  const users = idleUsers(n);
  return withServer(users, undefined, async (s) => {
    const login = async (i: number) => {
      const c = await LoadConn.open(s.port, s.cert);
      await c.login(users[i]!, tokenOf(users[i]!));
      return c;
    };
    // Synced: logged in and following the live feed (presence of every later login reaches it).
    const synced = async (i: number) => {
      const c = await login(i);
      await c.ok("sync");
      return c;
    };
    // Cold: the first n connections after start (includes the heap and allocator growing).
    const cold = await coldKbPerConn(s.pid, n, login);
    for (const c of cold.conns) c.close();
    await settle();
    // Warm: the same again once memory freed by the first round can be reused; then synced ones.
    const warm = await warmRound(s.pid, n, login);
    for (const c of warm.conns) c.close();
    await settle();
    const live = await warmRound(s.pid, n, synced);
    for (const c of live.conns) c.close();
    // Hello to logged in with a token, one connection at a time after its TLS handshake.
    const helloMs = new Float64Array(Math.min(50, n));
    for (let i = 0; i < helloMs.length; i++) {
      const c = await LoadConn.open(s.port, s.cert);
      const t0 = performance.now();
      await c.login(users[i]!, tokenOf(users[i]!));
      helloMs[i] = performance.now() - t0;
      c.close();
    }
    helloMs.sort();
    return [
      {
        name: "C hello to logged in (token), median",
        value: percentile(helloMs, 50),
        unit: "ms",
        target: "≤ 5",
      },
      { name: "C hello to logged in (token), p99", value: percentile(helloMs, 99), unit: "ms" },
      // (its target is the ratio to nats-tls's, issue 37: peers.ts `ratioRows`)
      { name: `C ${n} idle connections: memory per connection, cold`, value: cold.kb, unit: "KB" },
      { name: `C ${n} idle connections: memory per connection, warm`, value: warm.kb, unit: "KB" },
      { name: `C ${n} idle: server CPU per connection (connect + login), cold`, value: cold.cpu, unit: "µs" },
      { name: `C ${n} idle: server CPU per connection (connect + login), warm`, value: warm.cpu, unit: "µs" },
      { name: `C ${n} synced: memory per connection, warm`, value: live.kb, unit: "KB" },
      {
        name: `C ${n} synced: server CPU per connection (connect + login + sync)`,
        value: live.cpu,
        unit: "µs",
      },
      {
        name: "C synced / logged-in: CPU per connection",
        value: live.cpu / warm.cpu,
        unit: "×",
        target: "≤ 1.3",
      },
      // Warm growth reuses what the round before freed (near 0, or below): a ratio of two of them
      // means nothing. What a synced connection holds beyond a logged-in one: the two peaks.
      {
        name: `C ${n} synced: memory per connection beyond a logged-in one (the peaks, warm)`,
        value: ((live.rss - warm.rss) * 1024) / n / 1000,
        unit: "KB",
      },
      { name: `C time to connect and log in ${n}`, value: cold.secs, unit: "s" },
    ];
  });
}

/**
 * C's cold measurement, made the same way, against a bare TLS echo server: Deno's own TLS (the
 * floor the issue names) or, with `node`, the node:tls path with TCP_NODELAY that Parley's server takes.
 */
export function bareTlsFloor(n = 2000, node = false): Promise<Row[]> {
  const script = `${ROOT}tests/bench/bare_tls_server.ts`;
  return withRefServer("bare TLS server", script, node ? ["--node"] : [], async ({ pid, port, cert }) => {
    // a round trip per connection, as Parley's hello + login is one exchange after the handshake
    const cold = await coldKbPerConn(pid, n, async () => {
      const c = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [cert] });
      await c.write(new Uint8Array(64));
      await c.read(new Uint8Array(64));
      return c;
    });
    for (const c of cold.conns) c.close();
    const what = node ? "bare node:tls with TCP_NODELAY (the server's path)" : "bare Deno TLS";
    return [
      { name: `C reference: ${what}, ${n} idle connections, cold`, value: cold.kb, unit: "KB" },
      // The runtime's share of C's CPU row: the handshake and one echo, no Parley code (issue 37).
      { name: `C reference: ${what}, server CPU per connection, cold`, value: cold.cpu, unit: "µs" },
    ];
  });
}

export interface ChatBenchOptions {
  fanoutCount?: number;
  pairsPer?: number;
  idleConns?: number;
  /** Runs of each workload (at least 3: the median and range are printed). */
  repeat?: number;
}

export async function benchChat(o: ChatBenchOptions = {}): Promise<Row[]> {
  const k = Math.max(3, o.repeat ?? 3);
  const fan = o.fanoutCount ?? 20_000, per = o.pairsPer ?? 1000, n = o.idleConns ?? 2000;
  return [
    ...await repeated(k, () => fanout(`A 1 room x 100 members, ${fan} msgs:`, fan, 0)),
    ...await repeated(k, () => fanout(A_PACED.name, A_PACED.count, A_PACED.perSec)),
    ...await repeated(k, () => pairs(per)),
    ...await benchIdle(k, n),
  ];
}

/** Workload C `k` times, then the bare TLS floors beside it (Deno's own, then the server's node:tls path). */
export async function benchIdle(k: number, n: number): Promise<Row[]> {
  return [
    ...await repeated(k, () => idle(n)),
    ...await repeated(k, () => bareTlsFloor(n)),
    ...await repeated(k, () => bareTlsFloor(n, true)),
    ...await repeated(k, () => loginFloor(n)),
  ];
}
