/**
 * A lean load-generating client for the benchmark: raw TLS, the real frame codec, token login,
 * pipelined requests with batched writes, a callback per pushed message, and `ackNewest()` (the
 * periodic ack of the newest message a real client sends). Not for production.
 */
import { writeAll } from "../../lib/common/bytes.ts";
import { encodeFrame, type Frame, FrameDecoder } from "../../lib/protocol/frame.ts";

export class LoadConn {
  readonly dec = new FrameDecoder(64 * 1024 * 1024);
  #id = 1;
  readonly #waiting = new Map<number, (f: Frame) => void>();
  #out: Uint8Array[] = [];
  #flushing = false;
  onMsg: (f: Frame) => void = () => {};
  closed: Promise<void>;
  /** The newest message received (its conversation and seq) and the newest acknowledged. */
  #newest: { conv: string; seq: number } | null = null;
  #acked = 0;

  private constructor(readonly c: Deno.TlsConn) {
    this.closed = this.#read();
  }

  static async open(port: number, cert: string): Promise<LoadConn> {
    // TCP first with Nagle off, as the reference clients (peer_client.ts) and the real client run:
    // Deno.connectTls cannot, and its first request after the handshake then waits ~40 ms for a delayed ACK.
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    tcp.setNoDelay(true);
    const c = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [cert] });
    await c.handshake();
    return new LoadConn(c);
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    try {
      for (;;) {
        const n = await this.c.read(buf);
        if (n === null) return;
        for (const f of this.dec.push(buf.slice(0, n))) {
          const h = f.header;
          if (h.t === "msg") {
            if (typeof h.seq === "number" && typeof h.conv === "string") {
              this.#newest = { conv: h.conv, seq: h.seq };
            }
            this.onMsg(f);
          } else if ((h.t === "ok" || h.t === "err") && typeof h.id === "number") {
            const w = this.#waiting.get(h.id);
            this.#waiting.delete(h.id);
            w?.(f);
          } else if (h.t === "ping") this.#push(encodeFrame({ t: "pong" }));
        }
      }
    } catch { /* closed */ }
  }

  #push(b: Uint8Array): void {
    this.#out.push(b);
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#out.length) {
        const parts = this.#out;
        this.#out = [];
        let n = 0;
        for (const p of parts) n += p.length;
        const buf = new Uint8Array(n);
        let o = 0;
        for (const p of parts) buf.set(p, (o += p.length) - p.length);
        await writeAll(this.c, buf);
      }
    } catch {
      /* closed */
    } finally {
      this.#flushing = false;
    }
  }

  request(t: string, fields: Record<string, unknown> = {}, body?: Uint8Array): Promise<Frame> {
    const id = this.#id++;
    const p = new Promise<Frame>((r) => this.#waiting.set(id, r));
    this.#push(encodeFrame({ ...fields, t, id }, body));
    return p;
  }

  async ok(t: string, fields: Record<string, unknown> = {}): Promise<Frame> {
    const f = await this.request(t, fields);
    if (f.header.t !== "ok") throw new Error(`${t}: ${f.header.code} ${f.header.msg}`);
    return f;
  }

  /** Acknowledges the newest message received, if it was not yet (as the real client does every 500 ms). */
  ackNewest(): void {
    const n = this.#newest;
    if (!n || n.seq <= this.#acked) return;
    this.#acked = n.seq;
    void this.request("ack", { acks: [n] });
  }

  async login(user: string, token: string): Promise<void> {
    await this.ok("hello", { v: 1, client: "bench", shortPresence: true }); // as the real client says
    await this.ok("login", { user, token });
  }

  close(): void {
    try {
      this.c.close();
    } catch { /* closed */ }
  }
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
