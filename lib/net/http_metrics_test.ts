/**
 * Issue 69 N1, the `--metrics` listener (http_metrics.ts) under attack: slow connections beyond its
 * cap are closed and /healthz still answers, a request head that never ends is closed at the
 * header deadline, and failed accepts (EMFILE, injected) neither end the loop nor escape it.
 */
import assert from "node:assert/strict";
import { serveMetricsHttp } from "./http_metrics.ts";
import { until } from "../common/wait_testing.ts";

function start(o: Partial<Parameters<typeof serveMetricsHttp>[0]> = {}) {
  return serveMetricsHttp({
    host: "127.0.0.1",
    port: 0,
    metrics: () => Promise.resolve({ contentType: "text/plain; version=0.0.4", body: "up 1\n" }),
    health: () => Promise.resolve({ ok: true, text: "ok store=ok" }),
    ...o,
  });
}

/** Resolves true when the server closes `c` (EOF or reset) within `ms`, false otherwise. */
async function closedWithin(c: Deno.Conn, ms: number): Promise<boolean> {
  let id: ReturnType<typeof setTimeout> | undefined;
  const buf = new Uint8Array(1024);
  const read = (async () => {
    for (;;) {
      const n = await c.read(buf).catch(() => null);
      if (n === null) return true;
    }
  })();
  const r = await Promise.race([read, new Promise<false>((r) => (id = setTimeout(() => r(false), ms)))]);
  clearTimeout(id);
  return r;
}

async function health(port: number): Promise<[number, string, string | null]> {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  return [r.status, (await r.text()).trim(), r.headers.get("connection")];
}

const enc = new TextEncoder();

Deno.test("http_metrics: slow connections beyond the cap are closed, and /healthz still answers", async () => {
  const http = start({ maxConns: 16, headerMs: 60_000 });
  const slow: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
      await c.write(enc.encode("GET /metr")); // a partial request head, never finished
      slow.push(c);
    }
    const closed = await Promise.all(slow.map((c) => closedWithin(c, 1500)));
    const n = closed.filter(Boolean).length;
    assert.ok(n >= 40 - 16, `${n} of 40 slow connections closed by the listener (cap 16)`);
    assert.ok(http.open <= 16, `${http.open} held`);
    assert.deepEqual(await health(http.port), [200, "ok store=ok", "close"]);
    const m = await fetch(`http://127.0.0.1:${http.port}/metrics`);
    assert.equal(m.status, 200);
    assert.equal(m.headers.get("content-type"), "text/plain; version=0.0.4");
    assert.equal(await m.text(), "up 1\n");
  } finally {
    for (const c of slow) c.close();
    await http.close();
  }
});

Deno.test("http_metrics: a request head still unfinished at the header deadline is closed", async () => {
  const http = start({ headerMs: 300 });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
  try {
    await c.write(enc.encode("GET /metrics HTTP/1.1\r\nHost: x\r\n")); // no blank line: not finished
    assert.ok(await closedWithin(c, 3000), "closed at the header deadline");
  } finally {
    c.close();
    await http.close();
  }
});

Deno.test("http_metrics: failed accepts (EMFILE) are reported once a run and the listener keeps answering", async () => {
  let failing = 3;
  let injected = 0;
  const errors: string[] = [];
  const http = start({
    listen: (a) => {
      const ln = Deno.listen({ ...a, transport: "tcp" });
      const accept = ln.accept.bind(ln);
      ln.accept = () => {
        if (failing > 0) {
          failing--;
          injected++;
          return Promise.reject(new Error("Too many open files (os error 24)"));
        }
        return accept();
      };
      return ln;
    },
    onError: (e) => errors.push(String(e)),
  });
  try {
    await until(() => injected === 3, "three failed accepts"); // the loop's pauses: 5, 10, 20 ms
    // The fence for "once a run": this answer came through an accept after the failed ones.
    assert.deepEqual(await health(http.port), [200, "ok store=ok", "close"]);
    assert.equal(injected, 3, "three accepts failed");
    assert.deepEqual(errors, ["Error: Too many open files (os error 24)"]);
  } finally {
    await http.close();
  }
});

Deno.test("http_metrics: the same answers as before (404, 405, 503, HEAD, a query string)", async () => {
  let ok = false;
  const http = start({ health: () => Promise.resolve({ ok, text: ok ? "ok" : "unhealthy store=down" }) });
  try {
    assert.deepEqual((await health(http.port)).slice(0, 2), [503, "unhealthy store=down"]);
    ok = true;
    const q = await fetch(`http://127.0.0.1:${http.port}/healthz?x=1`);
    assert.deepEqual([q.status, await q.text()], [200, "ok\n"]);
    assert.equal(q.headers.get("cache-control"), "no-store");
    const nf = await fetch(`http://127.0.0.1:${http.port}/other`);
    assert.deepEqual([nf.status, await nf.text()], [404, "not found: try /metrics or /healthz\n"]);
    const post = await fetch(`http://127.0.0.1:${http.port}/metrics`, { method: "POST", body: "x" });
    assert.deepEqual([post.status, post.headers.get("allow"), await post.text()], [
      405,
      "GET, HEAD",
      "GET only\n",
    ]);
    const head = await fetch(`http://127.0.0.1:${http.port}/metrics`, { method: "HEAD" });
    assert.deepEqual([head.status, await head.text()], [200, ""]);
  } finally {
    await http.close();
  }
});
