/**
 * A latency floor under workload A-paced (issue 37): a relay with no chat code on Parley's transport
 * (lib/net/tls_server.ts's listener, NodeConn's native writes) and Parley's frame codec. It answers
 * hello, login and sync with an ok, and each `send` with an ok to its sender and one `msg` frame,
 * encoded once, written to every synced connection but the sender's: no store, no fsync, no
 * checks. The bench drives it exactly as it drives Parley's server (chat_load.ts `fanoutOn`), so
 * its p99 beside Parley's and redis-tls-always's tells what the transport costs and what Parley's
 * own work adds. Durable (`pacedRelay(true)`), it also writes each message (the `msg` frame it
 * delivers) at the end of a log file and fdatasyncs it before the ok and the fan-out, as Parley's message log does (segment_files.ts:
 * one positional write and one fdatasync a commit; here a commit a message, as the paced room's are):
 * the floor of delivering only what is on disk, on this runtime. As a server (`paced_relay.ts CERT
 * KEY serve [durable]`, run by `pacedRelay`) it prints its port; its log is beside CERT.
 */
import * as fs from "node:fs";
import { dirname } from "node:path";
import type { NodeConn } from "../../lib/net/tls.ts";
import { encodeFrame, type Frame, FrameDecoder } from "../../lib/protocol/frame.ts";
import { listenAsRef } from "./paced_floor.ts";
import { type Row, withRefServer } from "./proc.ts";

async function serve(cert: string, key: string, log: string | null): Promise<void> {
  const live = new Set<NodeConn>();
  const done = () => {};
  let seq = 0;
  const fd = log === null ? -1 : fs.openSync(log, "w");
  let end = 0;
  /** One frame from `c`: its replies, and a send's fan-out. */
  const handle = (c: NodeConn, f: Frame) => {
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
  await listenAsRef(cert, key, async (c) => {
    const dec = new FrameDecoder(1024 * 1024);
    try {
      for (let b = await c.readChunk(); b !== null; b = await c.readChunk()) {
        for (const f of dec.push(b)) handle(c, f);
      }
    } catch { /* the bench closed it */ }
    live.delete(c);
  });
}

/**
 * One run of A-paced against the relay (`durable`: the one that writes and fdatasyncs each message
 * first) in its own process: the rows `fanoutOn` gives. (chat_load.ts is imported here, not at the
 * top: the relay's process has no env permission for what it reads.)
 */
export async function pacedRelay(durable = false): Promise<Row[]> {
  const { A_PACED, fanoutOn } = await import("./chat_load.ts");
  const what = durable ? "a relay that fdatasyncs each message first" : "a relay with no chat code";
  return withRefServer(
    "paced relay",
    import.meta.filename!,
    durable ? ["serve", "durable"] : ["serve"],
    (s) =>
      fanoutOn(
        s,
        `A-paced reference: ${what} on Parley's transport, ${A_PACED.count} msgs at ${A_PACED.perSec}/s:`,
        A_PACED.count,
        A_PACED.perSec,
      ),
  );
}

if (import.meta.main && Deno.args[2] === "serve") { // (withRefServer: CERT KEY serve [durable])
  const [cert, key] = [Deno.args[0]!, Deno.args[1]!];
  const log = Deno.args[3] === "durable" ? `${dirname(cert)}/relay.log` : null;
  await serve(Deno.readTextFileSync(cert), Deno.readTextFileSync(key), log);
}
