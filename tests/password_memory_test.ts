/**
 * Issue 15: 20 concurrent password logins against a spawned server keep its resident memory
 * bounded (argon2id runs on a fixed pool of workers, each replaced after a few hashes so garbage
 * WebAssembly instances never pile up). Measured from outside the process (/proc).
 */
import assert from "node:assert/strict";
import { encodeFrame, type Frame, FrameDecoder } from "../lib/protocol/frame.ts";
import { rssKiB, spawnServerProcess } from "./helpers.ts";

/** One raw TLS connection: hello, then one request, read until its reply. */
async function request(srv: { port: number; cert: string }, h: Record<string, unknown>): Promise<Frame> {
  const c = await Deno.connectTls({ hostname: "127.0.0.1", port: srv.port, caCerts: [srv.cert] });
  try {
    const dec = new FrameDecoder(1 << 20);
    const buf = new Uint8Array(65536);
    const out = new Uint8Array([
      ...encodeFrame({ t: "hello", id: 1, v: 1, client: "raw" }),
      ...encodeFrame(h),
    ]);
    for (let o = 0; o < out.length;) o += await c.write(out.subarray(o));
    const got: Frame[] = [];
    for (;;) {
      const hit = got.find((f) => f.header.id === h.id);
      if (hit) return hit;
      const n = await c.read(buf);
      if (n === null) throw new Error("server closed the connection");
      got.push(...dec.push(buf.subarray(0, n)));
    }
  } finally {
    c.close();
  }
}

// The bound: 2 workers (the default pool) × (2 WebAssembly instances of ~20 MiB each, the most a
// worker keeps before it is replaced, + ~20 MiB for the worker's own isolate) = 120 MiB. Before the
// pool replaced its workers, the same 20 logins raised RSS by 260–400 MB.
const BOUND_KIB = 2 * (2 * 20 + 20) * 1024;

Deno.test({
  name: "20 concurrent password logins raise the spawned server's RSS by less than the pool's bound",
  ignore: Deno.build.os !== "linux", // resident memory is read from /proc
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-pwmem-" });
  const srv = await spawnServerProcess(dir, { args: ["--login-rate", "0", "--register-rate", "0"] });
  try {
    const N = 20;
    const pw = (i: number) => `pw-user${i}-long-secret`;
    for (let i = 0; i < N; i++) {
      const r = await request(srv, { t: "register", id: 2, user: `user${i}`, password: pw(i) });
      assert.equal(r.header.t, "ok", JSON.stringify(r.header));
    }
    await new Promise((r) => setTimeout(r, 300));
    const before = await rssKiB(srv.pid);
    let peak = before;
    let done = false;
    const sampler = (async () => {
      while (!done) {
        peak = Math.max(peak, await rssKiB(srv.pid));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    sampler.catch(() => {}); // a failed sample is thrown by `await sampler` below, not as an uncaught error
    const replies = await Promise.all(
      Array.from(
        { length: N },
        (_, i) => request(srv, { t: "login", id: 2, user: `user${i}`, password: pw(i) }),
      ),
    );
    done = true;
    await sampler;
    peak = Math.max(peak, await rssKiB(srv.pid));
    for (const r of replies) assert.equal(r.header.t, "ok", JSON.stringify(r.header));
    const growth = peak - before;
    console.log(`RSS before ${before} KiB, peak ${peak} KiB: +${Math.round(growth / 1024)} MiB`);
    assert.ok(growth < BOUND_KIB, `RSS grew by ${growth} KiB (bound ${BOUND_KIB} KiB)`);
  } finally {
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
