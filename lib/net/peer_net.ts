/**
 * Server-less channels over plain TCP (a named socket file, with tls.ts and tls_server.ts): the
 * peer listener and dialer. Each connection runs the signed handshake of crypto/peer_handshake.ts
 * and then carries AES-GCM records; TLS is not used (the handshake authenticates both identities).
 *
 * Framing: the frames of protocol/frame.ts (u32 length | header | body), header {"k":"hs"} for the
 * three handshake messages, {"k":"rec"} for records and {"k":"bulk"} for self-authenticating bulk
 * bytes (file chunks: not sealed twice); the frame cap applies from the prefix.
 *
 * Listener protections (the server's, as far as they apply): a handshake deadline (a connection
 * that has not finished it is closed), frames before the handshake capped at a handshake message's
 * size (`HANDSHAKE_MAX_FRAME`; the frame cap after it), a per-address cap on open connections, a
 * cap on handshakes in progress per network (/24 for IPv4, /64 for IPv6: common/host_port.ts `networkOf`), a total cap
 * of which `reserved` slots only pinned peers (`isPinned`) may hold once authenticated, a
 * per-address rate of new connections (least recently used buckets forgotten first), and a
 * per-channel record rate (reading pauses while the bucket is empty, so a flooding peer is slowed
 * by TCP backpressure and cannot starve the others); a record followed by a bulk frame of at least
 * `BULK_PAID` bytes gets its token back (the bytes bound it, as TCP bounds the direct path: issue
 * 36). Garbage ends only its own connection.
 *
 * Contract: `listenPeer(o, onChannel)` hands each authenticated channel to `onChannel`;
 * `dialPeer(host, port, o)` resolves to one or rejects with a `PeerNetError` (stable `code`).
 * `recv()` yields records in order and null once the channel has ended (EOF, bad record, close).
 */

import type { IdentityKeyPair, PublicIdentity } from "../crypto/identity.ts";
import { initiateHandshake, respondHandshake, type SecureChannel } from "../crypto/peer_handshake.ts";
import { release, writeAll } from "../common/bytes.ts";
import { type Clock, systemClock } from "../common/clock.ts";
import { networkOf } from "../common/host_port.ts";
import { KeyedBuckets, TokenBucket } from "../common/rate.ts";
import { encodeFrame, type Frame, FrameDecoder } from "../protocol/frame.ts";
import { acceptLoop } from "./tls_server.ts";

export const PEER_PURPOSE = "parley-peer-v1";

export type PeerNetErrorCode = "unreachable" | "timeout" | "handshake" | "closed";

/** An expected failure to reach or authenticate a peer. */
export class PeerNetError extends Error {
  constructor(readonly code: PeerNetErrorCode, message: string) {
    super(message);
    this.name = "PeerNetError";
  }
}

export interface PeerLimits {
  /** time from TCP connect to a finished handshake (default 10 s) */
  handshakeMs?: number;
  /** frame cap in bytes (default 1 MiB) */
  maxFrame?: number;
  /** open connections from one address (default 16) */
  perAddress?: number;
  /** open connections in all (default 256) */
  maxConns?: number;
  /** handshakes in progress from one /24 (IPv4) or /64 (IPv6) network (default 8) */
  handshakesPerNetwork?: number;
  /** of `maxConns`, the slots only pinned peers may hold once authenticated (default an eighth) */
  reserved?: number;
  /** a peer the listener's owner has pinned (none without it) */
  isPinned?: (peer: PublicIdentity) => boolean;
  /** new connections per second from one address, and the burst (default 5/s, 20) */
  acceptPerSec?: number;
  acceptBurst?: number;
  /** records read per second per channel, and the burst (default 500/s, 1000; 0 = unlimited) */
  recordsPerSec?: number;
  recordsBurst?: number;
  clock?: Clock;
}

export interface PeerEndpoint {
  identity: IdentityKeyPair;
  name?: string;
}

export interface PeerChannel {
  peer: PublicIdentity;
  peerName: string;
  purpose: string;
  /** "host:port" of the other end, and its host alone */
  remote: string;
  host: string;
  send(bytes: Uint8Array): Promise<void>;
  recv(): Promise<Uint8Array | null>;
  /**
   * Bulk bytes that carry their own authentication (C2SP file chunks, sealed with a key the two
   * ends share end to end): framed but not sealed again. `recvBulk` takes only such a frame; one
   * of at least `BULK_PAID` bytes gives back the record rate's token of the record read before it.
   */
  sendBulk(bytes: Uint8Array | readonly Uint8Array[]): Promise<void>;
  recvBulk(): Promise<Uint8Array | null>;
  close(): void;
  /** resolves once the channel has closed, for whatever reason */
  closed: Promise<void>;
}

export interface PeerListener {
  port: number;
  /** open connections (handshaking or not) */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A bulk frame this big pays for the record before it (its token is given back): a file batch
 * (peer mode's 8 chunks, ≈ 513 KiB) is not held to the record rate, which made a second 1 GiB copy
 * on a channel wait ≈ 1 s for tokens (500 records/s × 513 KiB ≈ 270 MB/s at most once the burst
 * was spent). Records bought this way cost a quarter MiB of bandwidth each, so a flooding peer gets
 * at most its bandwidth / 256 KiB small records per second (the record must be one its reader took
 * a bulk frame after); records of their own stay at the rate.
 */
export const BULK_PAID = 256 * 1024;

const D = { handshakeMs: 10_000, maxFrame: 1 << 20, perAddress: 16, maxConns: 256, handshakesPerNetwork: 8 };

/**
 * Largest frame accepted before the handshake is done: its messages are a few hundred bytes (two
 * 128-byte identities, a 32-byte key, a name of at most 128 bytes, a purpose, a signature).
 */
export const HANDSHAKE_MAX_FRAME = 2048;

/** Frame reader + writer over one TCP connection. */
class Wire {
  #dec: FrameDecoder;
  #frames: Frame[] = [];
  #buf = new Uint8Array(64 * 1024);
  #writing: Promise<unknown> = Promise.resolve();
  #closed = false;
  #onClose: (() => void)[] = [];
  /** Set once the handshake is done: a frame's buffer is taken at its announced size only then. */
  authenticated = false;
  /**
   * Handshake frames still expected from the other end: until they have come, a frame over
   * `HANDSHAKE_MAX_FRAME` (or as many bytes buffered towards one) closes the connection.
   */
  handshakeFrames = 0;
  constructor(readonly conn: Deno.TcpConn, maxFrame: number) {
    this.#dec = new FrameDecoder(maxFrame);
  }
  /** The next frame, or null at EOF or on any bad input (the connection is then closed). */
  async next(): Promise<Frame | null> {
    while (this.#frames.length === 0) {
      if (this.#closed) return null;
      let n: number | null;
      let room: Uint8Array | null = null;
      try {
        // A big frame under way (bulk file data) is read straight into its own buffer: no copies.
        room = this.authenticated ? this.#dec.room(this.#buf.length) : null;
        n = await this.conn.read(room ?? this.#buf);
      } catch {
        n = null;
      }
      try {
        if (n === null) {
          this.#dec.end();
          this.close();
          return null;
        }
        const got = room ? this.#dec.filled(n) : this.#dec.push(this.#buf.slice(0, n));
        for (const f of got) {
          if (this.handshakeFrames > 0 && this.handshakeFrames-- && f.body.length > HANDSHAKE_MAX_FRAME) {
            throw new Error("handshake frame too big");
          }
          this.#frames.push(f); // one at a time: a read of many small frames is no spread
        }
        if (this.handshakeFrames > 0 && this.#dec.buffered > HANDSHAKE_MAX_FRAME) {
          throw new Error("handshake frame too big");
        }
      } catch {
        this.close();
        return null;
      }
    }
    return this.#frames.shift()!;
  }
  write(
    kind: string,
    body: Uint8Array | readonly Uint8Array[],
    before?: () => Promise<Uint8Array>,
  ): Promise<void> {
    const p = this.#writing.then(async () => {
      if (this.#closed) throw new PeerNetError("closed", "The channel is closed");
      const b = encodeFrame({ k: kind }, before ? await before() : body);
      await writeAll(this.conn, b);
      release(b); // written: its memory goes now, not at the next collection
    });
    this.#writing = p.catch(() => this.close());
    return p;
  }
  onClose(f: () => void): void {
    if (this.#closed) f();
    else this.#onClose.push(f);
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    for (const f of this.#onClose.splice(0)) f();
  }
}

async function expectHs(w: Wire): Promise<Uint8Array> {
  const f = await w.next();
  if (!f || f.header.k !== "hs") throw new PeerNetError("handshake", "The peer broke off the handshake");
  return f.body;
}

function makeChannel(
  w: Wire,
  sc: SecureChannel,
  host: string,
  port: number,
  limits: PeerLimits,
): PeerChannel {
  const rate = limits.recordsPerSec ?? 500;
  const bucket = new TokenBucket(rate, limits.recordsBurst ?? 1000, limits.clock ?? systemClock);
  const closed = new Promise<void>((r) => w.onClose(r));
  w.authenticated = true;
  return {
    peer: sc.peer,
    peerName: sc.peerName,
    purpose: sc.purpose,
    remote: `${host.includes(":") ? `[${host}]` : host}:${port}`,
    host,
    send: (bytes) => w.write("rec", bytes, () => sc.seal(bytes)),
    async recv() {
      while (!bucket.take()) await new Promise((r) => setTimeout(r, Math.max(2, 1000 / rate)));
      const f = await w.next();
      if (!f) return null;
      try {
        if (f.header.k !== "rec") throw new Error("not a record");
        return await sc.open(f.body);
      } catch {
        w.close();
        return null;
      }
    },
    sendBulk: (bytes) => w.write("bulk", bytes),
    async recvBulk() {
      const f = await w.next();
      if (f && f.header.k === "bulk") {
        if (f.body.length >= BULK_PAID) bucket.give();
        return f.body;
      }
      w.close();
      return null;
    },
    close: () => w.close(),
    closed,
  };
}

function deadline(w: Wire, ms: number): () => boolean {
  let fired = false;
  const t = setTimeout(() => {
    fired = true;
    w.close();
  }, ms);
  return () => {
    clearTimeout(t);
    return !fired;
  };
}

/** What a peer listener is told: where, as whom, for which purposes, and its limits. */
type ListenOptions =
  & { hostname: string; port: number; purposes?: readonly string[]; expect?: PublicIdentity }
  & PeerEndpoint
  & PeerLimits;

/** Adds `d` to the count of `k` in `m` (a count of 0 is removed). */
function count(m: Map<string, number>, k: string, d: number): void {
  const v = (m.get(k) ?? 0) + d;
  if (v > 0) m.set(k, v);
  else m.delete(k);
}

/**
 * Owns a listener's admission state: open connections per address and in all, handshakes in progress
 * per network, the channels of peers not pinned (they may not use the reserved slots), accept rates.
 */
class PeerAdmission {
  readonly open = new Set<Wire>();
  readonly #perAddr = new Map<string, number>();
  readonly #handshaking = new Map<string, number>(); // per network
  readonly #loose = new Set<Wire>();
  readonly #accepts: KeyedBuckets;
  readonly #maxConns: number;
  readonly #general: number;

  constructor(readonly o: ListenOptions) {
    this.#maxConns = o.maxConns ?? D.maxConns;
    this.#general = this.#maxConns -
      Math.min(this.#maxConns - 1, o.reserved ?? Math.floor(this.#maxConns / 8));
    this.#accepts = new KeyedBuckets(
      o.acceptPerSec ?? 5,
      o.acceptBurst ?? 20,
      o.clock ?? systemClock,
      10_000,
    );
  }

  /** Whether a connection from `host` (of network `net`) may start its handshake. */
  admits(host: string, net: string): boolean {
    return (this.#perAddr.get(host) ?? 0) < (this.o.perAddress ?? D.perAddress) &&
      this.open.size < this.#maxConns &&
      (this.#handshaking.get(net) ?? 0) < (this.o.handshakesPerNetwork ?? D.handshakesPerNetwork) &&
      this.#accepts.take(host);
  }

  /** Counts wire `w` from `host` until it closes; returns the call that ends its handshake's count. */
  track(w: Wire, host: string, net: string): () => void {
    count(this.#perAddr, host, 1);
    count(this.#handshaking, net, 1);
    let shaking = true;
    const shaken = () => {
      if (shaking) count(this.#handshaking, net, -1);
      shaking = false;
    };
    this.open.add(w);
    w.onClose(() => {
      this.open.delete(w);
      this.#loose.delete(w);
      count(this.#perAddr, host, -1);
      shaken();
    });
    return shaken;
  }

  /** The reserved slots are for pinned peers: anyone else is refused once the rest are taken. */
  seat(w: Wire, peer: PublicIdentity): void {
    if (this.o.isPinned?.(peer)) return;
    if (this.#loose.size >= this.#general) throw new PeerNetError("closed", "No slot left");
    this.#loose.add(w);
  }
}

/** Runs one accepted connection through admission and the responder's handshake. */
async function servePeer(conn: Deno.TcpConn, adm: PeerAdmission, onChannel: (c: PeerChannel) => void) {
  const o = adm.o;
  const host = conn.remoteAddr.hostname;
  const net = networkOf(host);
  if (!adm.admits(host, net)) return conn.close();
  try {
    conn.setNoDelay(true);
  } catch { /* closed already */ }
  const w = new Wire(conn, o.maxFrame ?? D.maxFrame);
  w.handshakeFrames = 2;
  const shaken = adm.track(w, host, net);
  const inTime = deadline(w, o.handshakeMs ?? D.handshakeMs);
  try {
    const res = await respondHandshake(
      { identity: o.identity, name: o.name, purposes: o.purposes ?? [PEER_PURPOSE], expect: o.expect },
      await expectHs(w),
    );
    await w.write("hs", res.reply);
    const sc = await res.finish(await expectHs(w));
    if (!inTime()) throw new PeerNetError("timeout", "Handshake too slow");
    shaken();
    adm.seat(w, sc.peer);
    onChannel(makeChannel(w, sc, host, conn.remoteAddr.port, o));
  } catch {
    inTime();
    w.close();
  }
}

/** Listens on hostname:port; each authenticated connection goes to `onChannel`. */
export function listenPeer(o: ListenOptions, onChannel: (c: PeerChannel) => void): PeerListener {
  const ln = Deno.listen({ hostname: o.hostname, port: o.port, transport: "tcp" });
  const adm = new PeerAdmission(o);
  let stopped = false;
  // Survives failed accepts (out of descriptors): backs off and accepts again.
  const loop = acceptLoop(ln, (c) => void servePeer(c, adm, onChannel), { closed: () => stopped });
  return {
    port: (ln.addr as Deno.NetAddr).port,
    get connections() {
      return adm.open.size;
    },
    async close() {
      stopped = true;
      try {
        ln.close();
      } catch { /* closed */ }
      for (const w of [...adm.open]) w.close();
      await loop; // the port is free again once the accept loop has ended
    },
  };
}

/** Connects to a peer and runs the handshake (as initiator) within `handshakeMs`. */
export async function dialPeer(
  host: string,
  port: number,
  o: PeerEndpoint & { purpose?: string; expect?: PublicIdentity } & PeerLimits,
): Promise<PeerChannel> {
  const ms = o.handshakeMs ?? D.handshakeMs;
  let conn: Deno.TcpConn;
  try {
    conn = await withTimeout(Deno.connect({ hostname: host, port, transport: "tcp" }), ms);
  } catch (e) {
    if (e instanceof PeerNetError) throw e;
    throw new PeerNetError("unreachable", `Cannot reach ${host}:${port}: ${(e as Error).message}`);
  }
  try {
    conn.setNoDelay(true);
  } catch { /* closed */ }
  const w = new Wire(conn, o.maxFrame ?? D.maxFrame);
  w.handshakeFrames = 1;
  const inTime = deadline(w, ms);
  try {
    const ini = await initiateHandshake({
      identity: o.identity,
      name: o.name,
      purpose: o.purpose ?? PEER_PURPOSE,
      expect: o.expect,
    });
    await w.write("hs", ini.hello);
    const fin = await ini.finish(await expectHs(w));
    await w.write("hs", fin.message);
    if (!inTime()) throw new PeerNetError("timeout", `Handshake with ${host}:${port} timed out`);
    return makeChannel(w, fin.channel, host, port, o);
  } catch (e) {
    const timedOut = !inTime();
    w.close();
    if (timedOut) throw new PeerNetError("timeout", `Handshake with ${host}:${port} timed out`);
    if (e instanceof PeerNetError) throw e;
    throw new PeerNetError("handshake", `Handshake with ${host}:${port} failed: ${(e as Error).message}`);
  }
}

function withTimeout<T extends Deno.Conn>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      reject(new PeerNetError("timeout", "Connect timed out"));
      p.then((c) => c.close(), () => {});
    }, ms);
    p.then((c) => {
      clearTimeout(t);
      resolve(c);
    }, (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}
