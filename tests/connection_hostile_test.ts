/**
 * A hostile or broken server's frames with objects where strings belong (`{"toString": ""}` makes
 * String() throw): the client's connection drops such a push, fails the request such a reply
 * answers with `bad_reply`, and keeps working.
 */
import assert from "node:assert/strict";
import * as tls from "node:tls";
import { makeSelfSignedCert } from "../lib/net/cert.ts";
import { encodeFrame, FrameDecoder } from "../lib/protocol/frame.ts";
import { Connection } from "../lib/client/session/connection.ts";
import { BackendError } from "../lib/client/backend.ts";

Deno.test("connection: malformed header fields from the server are refused, the connection lives on", async () => {
  const { cert, key } = await makeSelfSignedCert();
  const evil = { toString: "" };
  const srv = tls.createServer({ cert, key, minVersion: "TLSv1.3" }, (s) => {
    const dec = new FrameDecoder(1 << 20);
    s.on("data", (d: Uint8Array) => {
      for (const f of dec.push(new Uint8Array(d))) {
        const id = f.header.id as number;
        if (id === 1) {
          s.write(encodeFrame({ t: "msg", mid: evil, from: "bob", conv: "d:a:b", seq: 1 }));
          s.write(encodeFrame({ t: "notice", text: "fine", from: evil }));
          s.write(encodeFrame({ t: "err", id, code: evil, msg: "x" }));
        } else {
          s.write(encodeFrame({ t: "notice", text: "fine" }));
          s.write(encodeFrame({ t: "ok", id }));
        }
      }
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  const c = await Connection.open({ host: "127.0.0.1", port, caPem: cert });
  try {
    const pushes: string[] = [];
    c.onPush((f) => pushes.push(String(f.header.t)));
    await assert.rejects(c.request("ping"), (e) => e instanceof BackendError && e.code === "bad_reply");
    const ok = await c.request("ping");
    assert.equal(ok.header.t, "ok");
    assert.deepEqual(pushes, ["notice"], "only the well-formed push was handled");
  } finally {
    c.conn.close();
    await c.done.catch(() => {});
    await new Promise((r) => srv.close(r));
  }
});
