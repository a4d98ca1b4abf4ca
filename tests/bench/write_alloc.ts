/**
 * Bytes allocated and server CPU per small write (issue 37, A-paced): 100 server connections
 * (lib/net/tls_server.ts: node:net + node:tls), a client in another process reading everything, and
 * N writes of one small frame each (a paced fan-out gives every member one frame a commit). Ways, on
 * the first connection one write at a time: `raw` (node:tls's `write` with a callback: the floor),
 * `conn` (NodeConn.write), `outbox` (Outbox.pushJson → NodeConn; each write in a turn of its own);
 * fanned out, one write to each of the 100 connections at a time: `rawFan`, `outboxFan` (pushJson
 * into each outbox), `pushFan` (one encoded frame pushed into each, as a room run does). The bench's
 * own promises (one a write, or one an outbox) are counted too.
 * The young generation is fixed big enough that no scavenge runs inside a measured batch.
 *
 *   deno run -A --v8-flags=--expose-gc,--max-semi-space-size=64,--min-semi-space-size=64 \
 *     tests/bench/write_alloc.ts [N] [ROUNDS]
 */
import { cpuUsage } from "node:process";
import type * as tls from "node:tls";
import { makeSelfSignedCert } from "../../lib/net/cert.ts";
import { listenTlsServer } from "../../lib/net/tls_server.ts";
import type { NodeConn } from "../../lib/net/tls.ts";
import { Outbox } from "../../lib/server/outbox.ts";

/** Server connections: a room's members (the client process opens them all). */
const FAN = 100;

if (Deno.args[0] === "client") {
  const read = async () => {
    const port = Number(Deno.args[1]);
    const c = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [Deno.args[2]!] });
    const b = new Uint8Array(64 * 1024);
    try {
      while ((await c.read(b)) !== null);
    } catch { /* the server closes without close_notify */ }
  };
  await Promise.all(Array.from({ length: FAN }, read));
  Deno.exit(0);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const N = Number(Deno.args[0] ?? 2000), ROUNDS = Number(Deno.args[1] ?? 5);

const cert = await makeSelfSignedCert(["127.0.0.1"]);
const conns: NodeConn[] = [];
let got!: () => void;
const all = new Promise<void>((r) => (got = r));
const srv = await listenTlsServer({
  host: "127.0.0.1",
  port: 0,
  cert: cert.cert,
  key: cert.key,
  handshakeMs: 10_000,
  admit: () => "accept",
  onConn: (c) => {
    if (conns.push(c as NodeConn) === FAN) got();
  },
  onRefused: (c) => c.close(),
});
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", import.meta.filename!, "client", String(srv.port), cert.cert],
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
await all;
const c = conns[0]!;
const json = JSON.stringify({
  t: "msg",
  room: "bench",
  from: "alice",
  seq: 123456,
  ts: 1764120000000,
  mid: "m1",
});
const body = new Uint8Array(120).fill(7);
const frame = new Uint8Array(200).fill(9);
const box = new Outbox(c, 1 << 30, () => {}, (e) => console.error("outbox error", e));
const s = c.s as tls.TLSSocket;
/** A room's fan-out: an outbox on each connection. */
const boxes = conns.map((k) => new Outbox(k, 1 << 30, () => {}, (e) => console.error(e)));

const ways: Record<string, () => Promise<void>> = {
  raw: () => new Promise<void>((r) => void s.write(frame, () => r())),
  conn: () => c.write(frame).then(() => {}),
  outbox: () => {
    box.pushJson(json, body);
    return box.drained(); // the write starts on the next turn, resolves once written
  },
  // FAN writes a call: counted as FAN calls below
  rawFan: () =>
    Promise.all(boxes.map(() => new Promise<void>((r) => void s.write(frame, () => r())))).then(() => {}),
  outboxFan: () => {
    for (const b of boxes) b.pushJson(json, body);
    return Promise.all(boxes.map((b) => b.drained())).then(() => {});
  },
  // a room run's fan-out: one encoded frame pushed to every member (lib/server/room_run.ts)
  pushFan: () => {
    for (const b of boxes) b.push(frame);
    return Promise.all(boxes.map((b) => b.drained())).then(() => {});
  },
};

const median = (l: number[]) => [...l].sort((p, q) => p - q)[Math.floor((l.length - 1) / 2)]!;
const res = new Map<string, { bytes: number[]; cpu: number[] }>();
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, f] of Object.entries(ways)) {
    for (let i = 0; i < 20; i++) await f(); // warm
    gc();
    const h0 = Deno.memoryUsage().heapUsed, c0 = cpuUsage();
    const calls = name.endsWith("Fan") ? N / FAN : N;
    for (let i = 0; i < calls; i++) await f();
    const h1 = Deno.memoryUsage().heapUsed, c1 = cpuUsage(c0);
    const e = res.get(name) ?? { bytes: [], cpu: [] };
    e.bytes.push((h1 - h0) / N);
    e.cpu.push((c1.user + c1.system) / N);
    res.set(name, e);
  }
}
for (const [name, e] of res) {
  console.log(
    `${name.padEnd(7)} ${median(e.bytes).toFixed(0).padStart(6)} B/write  ${
      median(e.cpu).toFixed(1).padStart(6)
    } µs CPU/write   bytes ${e.bytes.map((x) => x.toFixed(0)).join(" ")}`,
  );
}
for (const k of conns) k.close();
await srv.close();
await child.status;
