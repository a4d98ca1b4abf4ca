/**
 * NodeConn's callback write (`writeThen`, the server's Outbox writes through it; issue 37): the bytes
 * arrive, `done` runs after the call returned, and a closed connection's write reports an error.
 */
import assert from "node:assert/strict";
import { makeSelfSignedCert } from "./cert.ts";
import { connectTls, type ServerConn } from "./tls.ts";
import { listenTlsServer } from "./tls_server.ts";

Deno.test("NodeConn.writeThen: bytes handed on, done later; after close, done with an error", async () => {
  const pair = await makeSelfSignedCert();
  let got!: (c: ServerConn) => void;
  const conn = new Promise<ServerConn>((r) => (got = r));
  const srv = await listenTlsServer({
    host: "127.0.0.1",
    port: 0,
    cert: pair.cert,
    key: pair.key,
    handshakeMs: 5000,
    admit: () => "accept",
    onConn: (c) => got(c),
    onRefused: (c) => c.close(),
  });
  const client = await connectTls({ host: "127.0.0.1", port: srv.port, caPem: pair.cert });
  const c = await conn;
  try {
    const bytes = new Uint8Array(3000).map((_, i) => i & 255);
    let returned = false;
    const err = await new Promise<unknown>((r) => {
      c.writeThen!(bytes, (e) => r(returned ? e : new Error("done before writeThen returned")));
      returned = true;
    });
    assert.ok(!err, String(err));
    const seen = new Uint8Array(bytes.length);
    for (let n = 0; n < seen.length;) {
      const k = await client.readInto!(seen.subarray(n));
      assert.ok(k !== null, "the stream ended early");
      n += k;
    }
    assert.deepEqual(seen, bytes);
    c.close();
    returned = false;
    const late = await new Promise<unknown>((r) => {
      c.writeThen!(bytes, (e) => r(returned ? e : new Error("done before writeThen returned")));
      returned = true;
    });
    assert.ok(late instanceof Error && /closed/i.test(late.message), String(late));
  } finally {
    c.close();
    client.close();
    await srv.close();
  }
});
