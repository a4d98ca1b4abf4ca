/**
 * The reference servers' load client for the chat bench: plain TCP or TLS to Redis (RESP3 pub/sub,
 * or XADD then PUBLISH) or NATS core, with the roles Parley's LoadConn plays — log in, subscribe to a topic, publish
 * 100-byte payloads. A payload carries its send time as text (`<T:` 16 characters `>`), and
 * receivers find deliveries by that marker in the byte stream, so neither protocol's framing is
 * parsed on the hot path. Not for production.
 */

/**
 * `redis`, `nats`: plain TCP, nothing stored. The same work as Parley (TLS 1.3, every message
 * stored before delivery): `redis-tls-always` (each payload XADDed to a stream, its AOF fsynced
 * always, then PUBLISHed) and `nats-tls` (TLS only: core NATS stores nothing).
 */
export type Proto = "redis" | "nats" | "redis-tls-always" | "nats-tls";
/** The codec a protocol variant speaks. */
const codecOf = (p: Proto) => p === "redis-tls-always" ? "redisXadd" : p === "nats-tls" ? "natsTls" : p;
export const PEER_USER = "bench";
export const PEER_PASSWORD = "bench-password-15";

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const M0 = 0x3c, M1 = 0x54, M2 = 0x3a; // "<T:"
const TS_LEN = 16;
const MARK_LEN = 3 + TS_LEN + 1;

/** 100 bytes: the marker with performance.now() in it, then padding. */
export function payload100(): Uint8Array {
  const ts = performance.now().toFixed(3).padStart(TS_LEN, "0");
  return enc.encode(`<T:${ts}>`.padEnd(100, "."));
}

const codecs = {
  redis: {
    login: (cid: number) => resp("HELLO", "3", "AUTH", "default", PEER_PASSWORD, "SETNAME", `c${cid}`),
    loggedIn: (s: string) => s.includes("proto") && s.includes("modules"),
    sub: (topic: string) => resp("SUBSCRIBE", topic),
    subscribed: (s: string) => s.includes("subscribe"),
    pub: (topic: string, pl: Uint8Array) =>
      join([
        enc.encode(`*3\r\n$7\r\nPUBLISH\r\n$${topic.length}\r\n${topic}\r\n$${pl.length}\r\n`),
        pl,
        CRLF,
      ]),
    failed: (s: string) => s.startsWith("-") || s.includes("\r\n-"),
  },
  redisXadd: {
    login: (cid: number) => resp("HELLO", "3", "AUTH", "default", PEER_PASSWORD, "SETNAME", `c${cid}`),
    loggedIn: (s: string) => s.includes("proto") && s.includes("modules"),
    sub: (topic: string) => resp("SUBSCRIBE", topic),
    subscribed: (s: string) => s.includes("subscribe"),
    // Stored first (XADD to a stream named after the topic; the AOF is fsynced before the reply
    // and before the next command runs), then published: delivery after the store, as Parley.
    pub: (topic: string, pl: Uint8Array) =>
      join([
        enc.encode(
          `*5\r\n$4\r\nXADD\r\n$${topic.length + 2}\r\ns:${topic}\r\n$1\r\n*\r\n$1\r\np\r\n$${pl.length}\r\n`,
        ),
        pl,
        CRLF,
        enc.encode(`*3\r\n$7\r\nPUBLISH\r\n$${topic.length}\r\n${topic}\r\n$${pl.length}\r\n`),
        pl,
        CRLF,
      ]),
    failed: (s: string) => s.startsWith("-") || s.includes("\r\n-"),
  },
  nats: natsCodec(false),
  natsTls: natsCodec(true),
};

function natsCodec(tls: boolean) {
  return {
    login: (cid: number) =>
      enc.encode(
        `CONNECT ${
          JSON.stringify({
            verbose: false,
            pedantic: false,
            user: PEER_USER,
            pass: PEER_PASSWORD,
            name: `c${cid}`,
            lang: "deno",
            version: "0",
            protocol: 1,
            echo: false,
            ...(tls ? { tls_required: true } : {}),
          })
        }\r\nPING\r\n`,
      ),
    loggedIn: (s: string) => s.includes("PONG"),
    sub: (topic: string) => enc.encode(`SUB ${topic} 1\r\nPING\r\n`),
    subscribed: (s: string) => s.includes("PONG"),
    pub: (topic: string, pl: Uint8Array) => join([enc.encode(`PUB ${topic} ${pl.length}\r\n`), pl, CRLF]),
    failed: (s: string) => s.includes("-ERR"),
  };
}

const CRLF = enc.encode("\r\n");

function resp(...args: string[]): Uint8Array {
  return enc.encode(`*${args.length}\r\n${args.map((a) => `$${enc.encode(a).length}\r\n${a}\r\n`).join("")}`);
}

/** Reads up to and including the first CRLF (a byte at a time: nothing after it is consumed). */
async function readLine(c: Deno.Conn): Promise<void> {
  const b = new Uint8Array(1);
  let prev = 0;
  for (;;) {
    if ((await c.read(b)) === null) throw new Error("closed before the greeting ended");
    if (prev === 0x0d && b[0] === 0x0a) return;
    prev = b[0]!;
  }
}

function join(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

export class PeerConn {
  /** Called with the send time of every payload delivered to this connection. */
  onPayload: (sentAt: number) => void = () => {};
  #text = "";
  #waiter: { done: (s: string) => boolean; resolve: () => void; reject: (e: Error) => void } | null = null;
  #tail = new Uint8Array(0);
  readonly #codec;

  private constructor(readonly proto: Proto, readonly c: Deno.Conn) {
    this.#codec = codecs[codecOf(proto)];
    void this.#read();
  }

  /** With `caPem` (the `-tls` variants), TLS over the TCP connection, trusting that certificate. */
  static async open(proto: Proto, port: number, cid: number, caPem?: string): Promise<PeerConn> {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    tcp.setNoDelay(true);
    let c: Deno.Conn = tcp;
    if (caPem) {
      // NATS greets with its INFO line in the clear, then the client starts TLS on the same socket.
      if (proto === "nats-tls") await readLine(tcp);
      const t = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [caPem] });
      await t.handshake();
      c = t;
    }
    const p = new PeerConn(proto, c);
    await p.#ask(p.#codec.login(cid), p.#codec.loggedIn, "login");
    return p;
  }

  subscribe(topic: string): Promise<void> {
    return this.#ask(this.#codec.sub(topic), this.#codec.subscribed, "subscribe");
  }

  /** Publishes `n` payloads to `topic` in one write. */
  publish(topic: string, n = 1): Promise<void> {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < n; i++) parts.push(this.#codec.pub(topic, payload100()));
    return this.#write(join(parts));
  }

  close(): void {
    try {
      this.c.close();
    } catch { /* closed */ }
  }

  #ask(bytes: Uint8Array, done: (s: string) => boolean, what: string): Promise<void> {
    this.#text = "";
    const p = new Promise<void>((resolve, reject) => {
      this.#waiter = {
        done,
        resolve,
        reject: (e) => reject(new Error(`${this.proto} ${what}: ${e.message}`)),
      };
    });
    void this.#write(bytes).catch((e) => this.#waiter?.reject(e));
    return p;
  }

  async #write(b: Uint8Array): Promise<void> {
    for (let o = 0; o < b.length;) o += await this.c.write(b.subarray(o));
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    try {
      for (;;) {
        const n = await this.c.read(buf);
        if (n === null) break;
        const w = this.#waiter;
        if (w) {
          this.#text += latin1.decode(buf.subarray(0, n));
          if (w.done(this.#text)) {
            this.#waiter = null;
            w.resolve();
          } else if (this.#codec.failed(this.#text)) {
            this.#waiter = null;
            w.reject(new Error(this.#text.slice(0, 200)));
          }
          continue;
        }
        this.#scan(buf.subarray(0, n));
      }
    } catch { /* closed */ }
    this.#waiter?.reject(new Error("connection closed"));
  }

  /** Finds every marker in the stream (one may straddle two reads: the tail is kept). */
  #scan(chunk: Uint8Array): void {
    const b = this.#tail.length ? join([this.#tail, chunk]) : chunk;
    let i = 0;
    const last = b.length - MARK_LEN;
    for (; i <= last; i++) {
      if (b[i] !== M0 || b[i + 1] !== M1 || b[i + 2] !== M2) continue;
      this.onPayload(Number(latin1.decode(b.subarray(i + 3, i + 3 + TS_LEN))));
      i += MARK_LEN - 1;
    }
    this.#tail = b.slice(Math.max(i, b.length - MARK_LEN + 1));
  }
}
