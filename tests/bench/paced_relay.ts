/**
 * A latency floor under workload A-paced (issue 37): a relay with no chat code on Parley's transport
 * (lib/net/tls_server.ts's listener, NodeConn's native writes) and Parley's frame codec. It answers
 * hello, login and sync with an ok, and each `send` with an ok to its sender and one `msg` frame,
 * encoded once, written to every synced connection but the sender's: no store, no fsync, no
 * checks. The bench drives it exactly as it drives Parley's server (chat_load.ts `fanoutOn`), so
 * its p99 beside Parley's and redis-tls-always's tells what the transport costs and what Parley's
 * own work adds. As a server (`paced_relay.ts CERT KEY serve`, run by `pacedRelay`) it prints its
 * port.
 */
import type { NodeConn } from "../../lib/net/tls.ts";
import { encodeFrame, type Frame, FrameDecoder } from "../../lib/protocol/frame.ts";
import { listenAsRef } from "./paced_floor.ts";
import { type Row, withRefServer } from "./proc.ts";

async function serve(cert: string, key: string): Promise<void> {
  const live = new Set<NodeConn>();
  const done = () => {};
  let seq = 0;
  /** One frame from `c`: its replies, and a send's fan-out. */
  const handle = (c: NodeConn, f: Frame) => {
    const h = f.header, id = h.id;
    if (h.t === "send") {
      const at = Date.now();
      seq++;
      c.writeThen(encodeFrame({ t: "ok", id, seq, ts: at }), done);
      const msg = encodeFrame(
        { t: "msg", seq, mid: h.mid, from: "relay", to: h.to, conv: "r:bench", ts: at },
        f.body,
      );
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
 * One run of A-paced against the relay in its own process: the rows `fanoutOn` gives. (chat_load.ts is
 * imported here, not at the top: the relay's process has no env permission for what it reads.)
 */
export async function pacedRelay(): Promise<Row[]> {
  const { A_PACED, fanoutOn } = await import("./chat_load.ts");
  return withRefServer("paced relay", import.meta.filename!, ["serve"], (s) =>
    fanoutOn(
      s,
      `A-paced reference: a relay with no chat code on Parley's transport, ${A_PACED.count} msgs at ` +
        `${A_PACED.perSec}/s:`,
      A_PACED.count,
      A_PACED.perSec,
    ));
}

if (import.meta.main && Deno.args[2] === "serve") { // (withRefServer: CERT KEY serve)
  await serve(Deno.readTextFileSync(Deno.args[0]!), Deno.readTextFileSync(Deno.args[1]!));
}
