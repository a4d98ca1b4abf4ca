/**
 * The metrics and health HTTP listener (`--metrics HOST:PORT`, issue 38 item 2): plain HTTP, GET
 * only, two paths. `/metrics` answers the text the `metrics` callback gives (Prometheus exposition
 * format); `/healthz` answers 200 when `health` says ok, 503 otherwise, with a one-line body. The
 * fourth socket file of lib/net; it knows nothing of the server (callbacks in, text out).
 *
 * Issue 69 N1: a `Deno.listen` accept loop (tls_server.ts `acceptLoop`: a failed accept, EMFILE
 * included, backs off and never ends the loop) instead of `Deno.serve`, so that the port holds at
 * most `maxConns` descriptors (launch_fds.ts counts them in the fd budget, fd_budget.ts): at the cap a
 * new connection takes the place of the oldest one still sending its request head, or is closed
 * at once when none is; a request head must arrive whole (at most `MAX_HEAD_BYTES`) within
 * `headerMs`; one request a connection, answered with `Connection: close`.
 */
import { splitHostPort } from "../common/host_port.ts";
import { acceptLoop } from "./tls_server.ts";

/** Connections the listener holds at most (launch_fds.ts adds them, and the listener, to the fd budget). */
export const METRICS_MAX_CONNS = 16;
/** Time from accept to a whole request head, ms. */
export const METRICS_HEADER_MS = 5000;
/** A request head longer than this is answered 431 and closed. */
const MAX_HEAD_BYTES = 8192;
/** Time allowed to write an answer, ms. */
const WRITE_MS = 10_000;

export interface MetricsHttpOptions {
  host: string;
  port: number;
  metrics: () => Promise<{ contentType: string; body: string }>;
  health: () => Promise<{ ok: boolean; text: string }>;
  onError?: (e: unknown) => void;
  /** Connections held at most; `METRICS_MAX_CONNS` by default. */
  maxConns?: number;
  /** Time from accept to a whole request head, ms; `METRICS_HEADER_MS` by default. */
  headerMs?: number;
  /** Opens the listening socket; `Deno.listen` by default (tests inject failing accepts). */
  listen?: (o: { hostname: string; port: number }) => Deno.Listener<Deno.TcpConn>;
}

export interface MetricsHttp {
  readonly port: number;
  /** Connections held now. */
  readonly open: number;
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

/** One connection held: still reading its request head (`heading`), or answering. */
interface Held {
  conn: Deno.TcpConn;
  heading: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};
const TEXT = "text/plain; charset=utf-8";

export function serveMetricsHttp(o: MetricsHttpOptions): MetricsHttp {
  const cap = Math.max(1, o.maxConns ?? METRICS_MAX_CONNS);
  const headerMs = o.headerMs ?? METRICS_HEADER_MS;
  const ln = (o.listen ?? ((a) => Deno.listen({ ...a, transport: "tcp" })))({
    hostname: o.host,
    port: o.port,
  });
  const held = new Set<Held>(); // in the order of their accept: the oldest first
  let closed = false;
  const report = (e: unknown) => {
    try {
      o.onError?.(e);
    } catch { /* a reporter's failure is not the listener's */ }
  };
  const drop = (h: Held) => {
    clearTimeout(h.timer);
    if (!held.delete(h)) return;
    try {
      h.conn.close();
    } catch { /* closed already */ }
  };
  const serve = (conn: Deno.TcpConn) => {
    if (held.size >= cap) {
      const slow = oldestHeading(held);
      if (!slow) {
        try {
          conn.close();
        } catch { /* gone already */ }
        return;
      }
      drop(slow);
    }
    const h: Held = { conn, heading: true, timer: undefined };
    h.timer = setTimeout(() => drop(h), headerMs);
    held.add(h);
    answerOne(h, o, report).catch(report).finally(() => drop(h));
  };
  const loop = acceptLoop(ln, (c) => {
    try {
      serve(c);
    } catch (e) {
      report(e);
    }
  }, {
    closed: () => closed,
    onError: (e, run) => run === 1 && report(e), // once per run of failures
  }).catch(report);
  return {
    port: (ln.addr as Deno.NetAddr).port,
    get open() {
      return held.size;
    },
    close: async () => {
      closed = true;
      try {
        ln.close();
      } catch { /* closed already */ }
      for (const h of [...held]) drop(h);
      await loop;
    },
  };
}

/** The connection accepted first among those still sending their request head. */
function oldestHeading(held: Set<Held>): Held | undefined {
  for (const h of held) if (h.heading) return h;
  return undefined;
}

/** Reads one request head, answers it, and returns (the caller closes the connection). */
async function answerOne(h: Held, o: MetricsHttpOptions, report: (e: unknown) => void): Promise<void> {
  const line = await readHead(h.conn);
  if (line === null) return;
  h.heading = false;
  clearTimeout(h.timer);
  h.timer = setTimeout(() => {
    try {
      h.conn.close();
    } catch { /* closed already */ }
  }, WRITE_MS);
  let a: Answer;
  let head = false;
  if (line === "") a = { status: 431, body: "request head too long\n", headers: { "content-type": TEXT } };
  else {
    head = line.startsWith("HEAD ");
    try {
      a = await route(line, o);
    } catch (e) {
      report(e);
      a = { status: 500, body: "internal error\n", headers: { "content-type": TEXT } };
    }
  }
  try {
    await writeAll(h.conn, encodeAnswer(a, head));
  } catch { /* the peer went away, or the write deadline closed it: nothing to report */ }
}

/**
 * The request line of one request head, once the head is whole (an empty line ends it); "" when
 * it grows past `MAX_HEAD_BYTES`, null when the peer goes away first.
 */
async function readHead(conn: Deno.TcpConn): Promise<string | null> {
  const buf = new Uint8Array(MAX_HEAD_BYTES + 1);
  let n = 0;
  while (n < buf.length) {
    let got: number | null;
    try {
      got = await conn.read(buf.subarray(n));
    } catch {
      return null;
    }
    if (got === null) return null;
    const from = Math.max(0, n - 2);
    n += got;
    for (let i = from; i < n; i++) {
      if (buf[i] !== 10) continue;
      // A blank line ends the head (bytes past `n` are still 0: never a match).
      if (buf[i + 1] === 10 || (buf[i + 1] === 13 && buf[i + 2] === 10)) {
        const line = new TextDecoder("latin1").decode(buf.subarray(0, buf.indexOf(10)));
        return line.endsWith("\r") ? line.slice(0, -1) : line;
      }
    }
  }
  return "";
}

/** The answer to one request line. */
async function route(line: string, o: MetricsHttpOptions): Promise<Answer> {
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) return { status: 400, body: "bad request\n", headers: { "content-type": TEXT } };
  if (m[1] !== "GET" && m[1] !== "HEAD") {
    return { status: 405, body: "GET only\n", headers: { "content-type": TEXT, allow: "GET, HEAD" } };
  }
  const target = m[2]!;
  let path: string;
  try {
    path = new URL(target, "http://metrics.invalid").pathname;
  } catch {
    return { status: 400, body: "bad request\n", headers: { "content-type": TEXT } };
  }
  if (path === "/metrics") {
    const r = await o.metrics();
    return { status: 200, body: r.body, headers: { "content-type": r.contentType } };
  }
  if (path === "/healthz") {
    const h = await o.health();
    return {
      status: h.ok ? 200 : 503,
      body: h.text + "\n",
      headers: { "content-type": TEXT, "cache-control": "no-store" },
    };
  }
  return { status: 404, body: "not found: try /metrics or /healthz\n", headers: { "content-type": TEXT } };
}

/** An answer's bytes: status line, headers (its length, `connection: close`), and its body unless HEAD. */
function encodeAnswer(a: Answer, head: boolean): Uint8Array {
  const body = new TextEncoder().encode(a.body);
  const lines = [`HTTP/1.1 ${a.status} ${REASONS[a.status] ?? ""}`];
  for (const [k, v] of Object.entries(a.headers)) lines.push(`${k}: ${v}`);
  lines.push(`content-length: ${body.length}`, "connection: close", "", "");
  const top = new TextEncoder().encode(lines.join("\r\n"));
  if (head) return top;
  const out = new Uint8Array(top.length + body.length);
  out.set(top);
  out.set(body, top.length);
  return out;
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}
