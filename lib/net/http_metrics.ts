/**
 * The metrics and health HTTP listener (`--metrics HOST:PORT`, issue 38 item 2): plain HTTP, GET
 * only, two paths. `/metrics` answers the text the `metrics` callback gives (Prometheus exposition
 * format); `/healthz` answers 200 when `health` says ok, 503 otherwise, with a one-line body. The
 * fourth socket file of lib/net; it knows nothing of the server (callbacks in, text out).
 */
import { splitHostPort } from "../common/host_port.ts";

export interface MetricsHttpOptions {
  host: string;
  port: number;
  metrics: () => Promise<{ contentType: string; body: string }>;
  health: () => Promise<{ ok: boolean; text: string }>;
  onError?: (e: unknown) => void;
}

export interface MetricsHttp {
  readonly port: number;
  close(): Promise<void>;
}

/** Parses `HOST:PORT`, `[V6]:PORT`, `:PORT` or a bare `PORT` (the last two: loopback). */
export function parseListenAddress(s: string): { host: string; port: number } {
  const m = /^\d+$/.test(s) ? { host: "", port: Number(s) } : splitHostPort(s);
  if (!m || m.port === null || m.port > 65535) {
    throw new Error(`--metrics takes HOST:PORT (e.g. 127.0.0.1:9798), got "${s}"`);
  }
  return { host: m.host || "127.0.0.1", port: m.port };
}

export function serveMetricsHttp(o: MetricsHttpOptions): MetricsHttp {
  const server = Deno.serve({
    hostname: o.host,
    port: o.port,
    onListen: () => {},
    onError: (e) => {
      o.onError?.(e);
      return new Response("internal error\n", { status: 500 });
    },
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("GET only\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (path === "/metrics") {
      const m = await o.metrics();
      return new Response(m.body, { headers: { "content-type": m.contentType } });
    }
    if (path === "/healthz") {
      const h = await o.health();
      return new Response(h.text + "\n", {
        status: h.ok ? 200 : 503,
        headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
      });
    }
    return new Response("not found: try /metrics or /healthz\n", { status: 404 });
  });
  return {
    port: server.addr.port,
    close: () => server.shutdown(),
  };
}
