/**
 * A latency floor under workload A-paced (issue 37): a relay with no chat code on Parley's transport
 * (lib/net/tls_server.ts's listener, NodeConn's native writes) and Parley's frame codec. It answers
 * hello, login and sync with an ok, and each `send` with an ok to its sender and one `msg` frame,
 * encoded once, written to every synced connection but the sender's: no store, no fsync, no
 * checks. The bench drives it exactly as it drives Parley's server (chat_load.ts `fanoutOn`), so
 * its p99 beside Parley's and redis-tls-always's tells what the transport costs and what Parley's
 * own work adds. Durable (`pacedRelay(true)`), it also writes each message (the `msg` frame it
 * delivers) at the end of a log file and fdatasyncs it before the ok and the fan-out, as Parley's
 * message log of 0.13–0.20 did (one positional write and one fdatasync a commit; the SQLite store,
 * sqlite_store.ts, commits a batch in one transaction; here a commit a message, as the paced room's are): the floor of delivering only what is on disk, on this runtime. On Deno's own TLS (`way` "deno":
 * Deno.listenTls, each connection's writes one after another), which Parley's server cannot take (a
 * connection whose handshake never finishes keeps its descriptor after close, and Nagle stays on:
 * paced_floor.ts), it shows what that TLS would change: less CPU per write, and the tail Nagle gives.
 * As a server (`paced_relay.ts CERT KEY serve WAY [durable]`, run by `pacedRelay`) it prints its port;
 * its log is beside CERT.
 */
import * as fs from "node:fs";
import { dirname } from "node:path";
import { writeAll } from "../../lib/common/bytes.ts";
import { DenoConn, type NodeConn } from "../../lib/net/tls.ts";
import { encodeFrame, type Frame, FrameDecoder } from "../../lib/protocol/frame.ts";
import { listenAsRef } from "./paced_floor.ts";
import { type Row, withRefServer } from "./proc.ts";

/** Where a connection's frames go: NodeConn's `writeThen`, or `DenoWrites` over a Deno TLS connection. */
interface Out {
  writeThen(b: Uint8Array, done: () => void): void;
}

/**
 * A Deno TLS connection's writes, one after another in the order given (a write may be partial). Its
 * `writeThen` tells nothing back: the relay never waits for a write.
 */
class DenoWrites implements Out {
  #queue: Uint8Array[] = [];
  #busy = false;
  constructor(readonly c: DenoConn) {}
  writeThen(b: Uint8Array): void {
    if (this.#busy) this.#queue.push(b);
    else this.#run(b);
  }
  async #run(b: Uint8Array | undefined): Promise<void> {
    this.#busy = true;
    try {
      for (; b !== undefined; b = this.#queue.shift()) {
        await writeAll(this.c, b);
      }
    } catch { /* the bench closed it */ }
    this.#busy = false;
  }
}

async function serve(way: Way, cert: string, key: string, log: string | null): Promise<void> {
  const live = new Set<Out>();
  const done = () => {};
  let seq = 0;
  const fd = log === null ? -1 : fs.openSync(log, "w");
  let end = 0;
  /** One frame from `c`: its replies, and a send's fan-out. */
  const handle = (c: Out, f: Frame) => {
    const h = f.header, id = h.id;
    if (h.t === "send") {
      const at = Date.now();
      seq++;
      const msg = encodeFrame(
        { t: "msg", seq, mid: h.mid, from: "relay", to: h.to, conv: "r:bench", ts: at },
        f.body,
      );
      if (fd >= 0) { // the message as delivered, on disk before anyone hears of it
        end += fs.writeSync(fd, msg, 0, msg.length, end);
        fs.fdatasyncSync(fd);
      }
      c.writeThen(encodeFrame({ t: "ok", id, seq, ts: at }), done);
      for (const o of live) if (o !== c) o.writeThen(msg, done);
    } else if (h.t === "sync") {
      live.add(c);
      c.writeThen(encodeFrame({ t: "ok", id, lastSeq: seq }), done);
    } else if (typeof id === "number") c.writeThen(encodeFrame({ t: "ok", id, v: 1, role: "user" }), done);
  };
  const relay = async (c: DenoConn | NodeConn, out: Out) => {
    const dec = new FrameDecoder(1024 * 1024);
    try {
      for (let b = await c.readChunk(); b !== null; b = await c.readChunk()) {
        for (const f of dec.push(b)) handle(out, f);
      }
    } catch { /* the bench closed it */ }
    live.delete(out);
  };
  if (way === "node") return listenAsRef(cert, key, (c) => void relay(c, c));
  const l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  console.log((l.addr as Deno.NetAddr).port);
  for await (const t of l) {
    const c = new DenoConn(t);
    void relay(c, new DenoWrites(c));
  }
}

/** The TLS a relay serves on: Parley's transport (node:tls), or Deno's own. */
export type Way = "node" | "deno";
const ON: Record<Way, string> = { node: "on Parley's transport", deno: "on Deno's own TLS" };

/**
 * One run of A-paced against the relay (`durable`: the one that writes and fdatasyncs each message
 * first) on `way`'s TLS, in its own process: the rows `fanoutOn` gives. `room`: a room of `receivers`
 * members but its sender, `count` messages at `perSec` (issue 73's big rooms), its rows named after
 * `label`, instead of A-paced. (chat_load.ts is imported here, not at the top: the relay's process has
 * no env permission for what it reads.)
 */
export async function pacedRelay(
  durable = false,
  way: Way = "node",
  room?: { label: string; count: number; perSec: number; receivers: number },
): Promise<Row[]> {
  const { A_PACED, fanoutOn, roomMembers } = await import("./chat_load.ts");
  const what = durable ? "a relay that fdatasyncs each message first" : "a relay with no chat code";
  return withRefServer(
    "paced relay",
    import.meta.filename!,
    durable ? ["serve", way, "durable"] : ["serve", way],
    (s) =>
      room
        ? fanoutOn(
          s,
          `${room.label} reference: ${what} ${ON[way]}:`,
          room.count,
          room.perSec,
          roomMembers(room.receivers),
          "w000",
        )
        : fanoutOn(
          s,
          `A-paced reference: ${what} ${ON[way]}, ${A_PACED.count} msgs at ${A_PACED.perSec}/s:`,
          A_PACED.count,
          A_PACED.perSec,
        ),
  );
}

if (import.meta.main && Deno.args[2] === "serve") { // (withRefServer: CERT KEY serve WAY [durable])
  const [cert, key, way] = [Deno.args[0]!, Deno.args[1]!, Deno.args[3] as Way];
  const log = Deno.args[4] === "durable" ? `${dirname(cert)}/relay.log` : null;
  await serve(way, Deno.readTextFileSync(cert), Deno.readTextFileSync(key), log);
}
