/**
 * tls.ts's pinned connect over Deno's own TLS (issue 36): the client's stream is a DenoConn (reads
 * into the caller's buffer), and the pin is the leaf itself — a certificate that validates against
 * the pinned one as a CA, or another self-signed one, is refused.
 */
import assert from "node:assert/strict";
import { makeSelfSignedCert } from "./cert.ts";
import { testCaAndLeaf } from "./cert_testing.ts";
import { connectTls, DenoConn } from "./tls.ts";

/** A TLS listener presenting `cert` that writes `hello` to each connection. */
function serve(cert: string, key: string, hello: Uint8Array) {
  const ln = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const done = (async () => {
    for await (const c of ln) {
      (async () => {
        for (let o = 0; o < hello.length;) o += await c.write(hello.subarray(o));
      })().catch(() => {}).finally(() => setTimeout(() => c.close(), 200));
    }
  })().catch(() => {});
  return { port: ln.addr.port, stop: async () => (ln.close(), await done) };
}

Deno.test("tls: the pinned connect runs on Deno's TLS and reads into the caller's buffer", async () => {
  const pair = await makeSelfSignedCert();
  const hello = new Uint8Array(100_000).map((_, i) => (i * 7) & 255);
  const s = serve(pair.cert, pair.key, hello);
  try {
    const c = await connectTls({ host: "127.0.0.1", port: s.port, caPem: pair.cert });
    assert.ok(c instanceof DenoConn, "the native stream, not node:tls");
    const got = new Uint8Array(hello.length);
    const first = (await c.readChunk())!;
    assert.equal(first.byteOffset, 0);
    assert.equal(first.buffer.byteLength, first.length, "a piece is a buffer of its own");
    got.set(first);
    let n = first.length;
    while (n < got.length) {
      const k = await c.readInto!(got.subarray(n));
      if (k === null) throw new Error(`the stream ended after ${n} bytes`);
      n += k;
    }
    assert.deepEqual(got, hello);
    assert.equal(await c.readInto!(new Uint8Array(10)), null, "end of stream");
    c.close();
  } finally {
    await s.stop();
  }
});

Deno.test("tls: another self-signed certificate than the pinned one is refused", async () => {
  const pair = await makeSelfSignedCert(), other = await makeSelfSignedCert();
  const s = serve(other.cert, other.key, new Uint8Array(1));
  try {
    await assert.rejects(connectTls({ host: "127.0.0.1", port: s.port, caPem: pair.cert }));
  } finally {
    await s.stop();
  }
});

Deno.test({
  name: "tls: a leaf that validates against the pinned certificate as its CA is not the pin: refused",
  ignore: Deno.build.os === "windows", // the test CA is made with the openssl command
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-tls-" });
  const t = await testCaAndLeaf(dir);
  const s = serve(t.leafPem, t.leafKey, new Uint8Array(1));
  try {
    await assert.rejects(
      connectTls({ host: "127.0.0.1", port: s.port, caPem: t.caPem }),
      /not the pinned one/,
    );
  } finally {
    await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
