/**
 * NodeConn's callback write (`writeThen`, the server's Outbox writes through it; issue 37): the bytes
 * arrive, `done` runs after the call returned, and a closed connection's write reports an error;
 * writes go to the socket's native handle, not through node:tls's stream `write` (in order; one
 * still waiting when the socket closes is told once, with an error), and a socket without such a
 * handle is written through `write`.
 */
import { EventEmitter } from "node:events";
import type * as tls from "node:tls";
import assert from "node:assert/strict";
import { makeSelfSignedCert } from "./cert.ts";
import { connectTls, NodeConn, type ServerConn } from "./tls.ts";
import { listenTlsServer } from "./tls_server.ts";
import { until } from "../common/wait_testing.ts";

/** A server connection (NodeConn) and the client's end; `close` ends both and the listener. */
async function pair(): Promise<{ c: ServerConn; client: ServerConn; close: () => Promise<void> }> {
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
  return {
    c,
    client,
    close: async () => {
      c.close();
      client.close();
      await srv.close();
    },
  };
}

/** Reads exactly `n` bytes from `client`. */
async function readAll(client: ServerConn, n: number): Promise<Uint8Array> {
  const seen = new Uint8Array(n);
  for (let at = 0; at < n;) {
    const k = await client.readInto!(seen.subarray(at));
    assert.ok(k !== null, "the stream ended early");
    at += k;
  }
  return seen;
}

Deno.test("NodeConn.writeThen: bytes handed on, done later; after close, done with an error", async () => {
  const { c, client, close } = await pair();
  try {
    const bytes = new Uint8Array(3000).map((_, i) => i & 255);
    let returned = false;
    const err = await new Promise<unknown>((r) => {
      c.writeThen!(bytes, (e) => r(returned ? e : new Error("done before writeThen returned")));
      returned = true;
    });
    assert.ok(!err, String(err));
    assert.deepEqual(await readAll(client, bytes.length), bytes);
    c.close();
    returned = false;
    const late = await new Promise<unknown>((r) => {
      c.writeThen!(bytes, (e) => r(returned ? e : new Error("done before writeThen returned")));
      returned = true;
    });
    assert.ok(late instanceof Error && /closed/i.test(late.message), String(late));
  } finally {
    await close();
  }
});

Deno.test("NodeConn.writeThen: straight to the native handle, in order; a write waiting at close told once", async () => {
  const { c, client, close } = await pair();
  try {
    const s = (c as NodeConn).s, streamWrite = s.write.bind(s);
    s.write = () => {
      throw new Error("node:tls's stream write was used");
    };
    // 20 at once (queued behind the first), and each one's `done` writes one more (after the queue).
    const parts = Array.from({ length: 40 }, (_, i) => new Uint8Array(100 + i).fill(i));
    const errs: unknown[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const all = Promise.all(
      parts.slice(0, 20).map((p, i) =>
        new Promise<void>((r) =>
          c.writeThen!(p, (e) => {
            errs.push(e);
            c.writeThen!(parts[20 + i]!, (e) => r(void errs.push(e)));
          })
        )
      ),
    );
    const late = new Promise((_, no) => timer = setTimeout(() => no(new Error("a write never told")), 5000));
    await Promise.race([all, late]).finally(() => clearTimeout(timer));
    assert.deepEqual(errs.filter((e) => e), []);
    const total = parts.reduce((n, p) => n + p.length, 0);
    const seen = await readAll(client, total);
    let at = 0;
    for (const p of parts) assert.deepEqual(seen.subarray(at, at += p.length), p);
    // A big piece goes through the stream's write (NATIVE_MAX), in order between native ones.
    let streamed = 0;
    s.write =
      ((b: Uint8Array, cb: (e?: Error | null) => void) => (streamed++, streamWrite(b, cb))) as typeof s.write;
    const mixed = [
      new Uint8Array(50).fill(1),
      new Uint8Array(NodeConn.NATIVE_MAX).fill(2),
      new Uint8Array(60).fill(3),
    ];
    const mixedDone = Promise.all(mixed.map((p) => new Promise((r) => c.writeThen!(p, r))));
    const slow = new Promise<never>((_, no) =>
      timer = setTimeout(() => no(new Error("a mixed write never told")), 5000)
    );
    const got = await Promise.race([readAll(client, mixed.reduce((n, p) => n + p.length, 0)), slow]);
    assert.deepEqual(await Promise.race([mixedDone, slow]).finally(() => clearTimeout(timer)), [
      undefined,
      undefined,
      undefined,
    ]);
    assert.deepEqual(got, new Uint8Array([...mixed[0]!, ...mixed[1]!, ...mixed[2]!]));
    assert.equal(streamed, 1, "only the big piece through the stream's write");
    // More than the sockets hold while the client reads nothing: still waiting when closed.
    const told: unknown[] = [];
    c.writeThen!(new Uint8Array(16 << 20), (e) => told.push(e));
    // The fence: 1 MiB of it reached the client, so the write was under way and a `done` told early
    // had had its turns; the rest (more than the sockets hold) cannot have been handed on.
    await readAll(client, 1 << 20);
    assert.equal(told.length, 0, "the big write ended before the client read it");
    c.close();
    await until(() => told.length > 0, "the waiting write told at close");
    assert.equal(told.length, 1);
    assert.ok(told[0] instanceof Error, String(told[0]));
  } finally {
    await close();
  }
});

Deno.test("NodeConn.writeThen: a socket without a native handle is written through its write", async () => {
  const writes: Uint8Array[] = [];
  const fake = Object.assign(new EventEmitter(), {
    destroyed: false,
    localAddress: "127.0.0.1",
    write: (b: Uint8Array, cb: (e?: unknown) => void) => {
      writes.push(b);
      queueMicrotask(() => cb());
      return true;
    },
  });
  const c = new NodeConn(fake as unknown as tls.TLSSocket, { remoteAddress: "127.0.0.1", remotePort: 1 });
  const err = await new Promise<unknown>((r) => c.writeThen(new Uint8Array([1, 2, 3]), r));
  assert.ok(!err);
  assert.deepEqual(writes, [new Uint8Array([1, 2, 3])]);
});
