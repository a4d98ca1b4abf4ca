import assert from "node:assert/strict";
import type { Connection } from "../session/connection.ts";
import type { Frame } from "../../protocol/frame.ts";
import { PeerStreams } from "./peer_stream.ts";

/** Just enough of a Connection to push frames at PeerStreams. */
function fakeConn() {
  let push: (f: Frame) => void = () => {};
  const conn = {
    onPush: (fn: (f: Frame) => void) => ((push = fn), () => {}),
    done: new Promise<void>(() => {}),
    request: () => Promise.resolve({ header: {}, body: new Uint8Array() }),
  } as unknown as Connection;
  return { conn, push: (h: Record<string, unknown>) => push({ header: h, body: new Uint8Array() }) };
}

Deno.test("PeerStreams.waitOffer names the sender by the one name rule (NFKC, case, #)", async () => {
  const { conn, push } = fakeConn();
  const peers = new PeerStreams(conn, "bob");
  push({ t: "stream.offer", sid: "sid-abcdefgh", from: "alice", name: "clip.mp4" });
  for (const spelled of ["alice", "ALICE", "\uff21\uff2c\uff29\uff23\uff25" /* full-width */]) {
    const o = await peers.waitOffer(spelled, 50).catch((e) => e);
    assert.equal(o.sid, "sid-abcdefgh", `waitOffer(${JSON.stringify(spelled)}) → ${o}`);
  }
  peers.close();
});
