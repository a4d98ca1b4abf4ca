/**
 * The direct path of a file transfer (issue 12): the recipient's client listens, its sender connects,
 * the server only carried the (end-to-end encrypted) candidate.
 *
 *   recipient: accepts an offer → `listenForSender` on an ephemeral port of the interface its server
 *     connection uses → sends `{fid, host, port, token}` to the sender as a DM control message
 *     (the "files.ready" kind, files/channel.ts) → waits up to DIRECT_MS for a channel that presents the token;
 *   sender: takes the candidate → `dialRecipient` (the signed handshake of crypto/peer_handshake.ts
 *     with purpose FILE_PURPOSE; each side expects the other's pinned identity key) → sends the token.
 *
 * Then, on the channel (records sealed by the handshake's keys): the recipient asks for chunk index
 * `i` (u64, its verified `.part` so far), the sender sends the age file header and the ciphertext
 * from chunk `i` to the end in bulk frames of one batch of chunks (not sealed by the channel: each
 * chunk authenticates itself under the file key only the two ends hold, so a frame altered on the
 * way fails like a relay's would — and sends the recipient back to the relay); the recipient
 * answers `OK` once the size and SHA-256 match. Either side falling silent or closing ends the
 * direct path: the transfer goes on by the relay (unless the sender asked for `--direct`). Sockets:
 * through lib/net/peer_net.ts only.
 */
import { timingSafeEqual } from "node:crypto";
import { fromBase64, toBase64 } from "../../common/bytes.ts";
import { cryptoRandom } from "../../common/random.ts";
import type { IdentityKeyPair, PublicIdentity } from "../../crypto/identity.ts";
import { dialPeer, listenPeer, type PeerChannel, type PeerLimits } from "../../net/peer_net.ts";
import { type ChunkCarrier, sendChunks } from "./carrier.ts";
import { chunkPieces, type Source } from "./cipher.ts";
import { type FileReady } from "./offer.ts";
import { chunkCount, chunkOffset } from "./layout.ts";

export const FILE_PURPOSE = "parley-file-v1";
/** How long either end tries the direct path before the relay takes over. */
export const DIRECT_MS = 2000;
/** Chunks per bulk frame (8 × (64 KiB + tag) ≈ 513 KiB, under the frame cap). */
export const DIRECT_BATCH = 8;
/** The recipient's answer once the file is saved. */
export const OK = new Uint8Array([0x4f, 0x4b]);

const LIMITS: PeerLimits = {
  handshakeMs: DIRECT_MS,
  maxFrame: 1 << 20,
  perAddress: 4,
  maxConns: 8,
  recordsPerSec: 0, // an authenticated sender holding the token: TCP backpressure is the bound
};

/** Where a recipient waits: the candidate to announce, and the sender's channel once it came. */
export interface DirectWait {
  ready: FileReady;
  /** The authenticated channel that presented the token, or null after `ms`. */
  channel: Promise<PeerChannel | null>;
  close(): Promise<void>;
}

/** "::ffff:127.0.0.1" → "127.0.0.1"; the interface the server connection goes out of. */
export function candidateHost(localHost: string): string | null {
  const h = localHost.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
  return /^[0-9A-Fa-f.:]{2,64}$/.test(h) ? h : null;
}

/** Listens on `host` (port chosen by the system) for the sender of file `fid`. */
export function listenForSender(o: {
  fid: string;
  host: string;
  identity: IdentityKeyPair;
  expect?: PublicIdentity;
  ms?: number;
}): DirectWait {
  const token = cryptoRandom(32);
  let resolve!: (c: PeerChannel | null) => void;
  const channel = new Promise<PeerChannel | null>((r) => (resolve = r));
  const timer = setTimeout(() => resolve(null), o.ms ?? DIRECT_MS);
  const ln = listenPeer(
    {
      hostname: o.host,
      port: 0,
      purposes: [FILE_PURPOSE],
      expect: o.expect,
      identity: o.identity,
      ...LIMITS,
    },
    async (c) => {
      const first = await Promise.race([c.recv(), c.closed.then(() => null)]);
      if (first && first.length === token.length && timingSafeEqual(first, token)) {
        clearTimeout(timer);
        resolve(c);
      } else c.close();
    },
  );
  return {
    ready: { fid: o.fid, host: o.host, port: ln.port, token: toBase64(token) },
    channel,
    close: async () => {
      clearTimeout(timer);
      resolve(null);
      await ln.close();
    },
  };
}

/** Connects to a recipient's candidate, proves this device's identity and presents the token. */
export async function dialRecipient(
  r: FileReady,
  identity: IdentityKeyPair,
  expect: PublicIdentity | undefined,
): Promise<PeerChannel> {
  const c = await dialPeer(r.host, r.port, { identity, expect, purpose: FILE_PURPOSE, ...LIMITS });
  await c.send(fromBase64(r.token));
  return c;
}

/** The chunk index the recipient asks for, as a record, and back. */
export function encodeIndex(i: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(i));
  return b;
}
export function decodeIndex(b: Uint8Array | null): number | null {
  if (!b || b.length !== 8) return null;
  const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
}

/** Resolves with the channel's next record (or bulk frame), or null when it closed or `ms` passed first. */
export function recvWithin(c: PeerChannel, ms: number, bulk = false): Promise<Uint8Array | null> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    bulk ? c.recvBulk() : c.recv(),
    new Promise<null>((r) => (t = setTimeout(() => r(null), ms))),
  ]).finally(() => clearTimeout(t));
}

/**
 * Sends the file on an open direct channel from the chunk the recipient asks for, DIRECT_BATCH
 * chunks per bulk frame (carrier.ts `sendChunks`: cipher.ts AHEAD frames are encrypted while one is
 * written), and waits for its `OK`. False
 * when the channel broke off first (the transfer can go on by the relay); closes the channel.
 */
export async function pushDirect(c: PeerChannel, s: Source, onDone: (n: number) => void): Promise<boolean> {
  try {
    const i = decodeIndex(await recvWithin(c, DIRECT_MS));
    if (i === null || i >= chunkCount(s.size)) return false;
    await c.sendBulk(s.header);
    let pos = chunkOffset(i);
    const end = await sendChunks(
      chunkPieces(s, i, DIRECT_BATCH),
      socketCarrier(c),
      (_, n) => onDone(pos += n),
    );
    if (end !== "done") return false;
    // The recipient hashes the whole file before it answers.
    const ok = await recvWithin(c, 600_000);
    return ok !== null && ok.length === OK.length && ok.every((x, k) => x === OK[k]);
  } catch {
    return false;
  } finally {
    c.close();
  }
}

/** The direct socket as a carrier (carrier.ts): each batch one bulk frame, its chunks' index implied by the order. */
export function socketCarrier(c: PeerChannel): ChunkCarrier {
  return { put: (_i, parts) => c.sendBulk(parts) };
}
