/**
 * The receiving side of a file transfer (issue 12; with transfers.ts and disk.ts, the client files touching the
 * user's files): fills an accepted offer's `.part` from the sender's direct channel while it lasts
 * (direct.ts), then from the relay (`file.get`, up to WINDOW reads in flight; while the sender
 * is behind, woken by the server when its copy grows: watch.ts). Every chunk is authenticated by
 * its index before its plaintext is written (PartWriter); a restart keeps the verified chunks.
 * `FileTransfers.accept` checks the SHA-256 and renames. `reconcileTaken`: offers another device of
 * this user took meanwhile are marked `elsewhere`.
 */
import { fromBase64 } from "../../common/bytes.ts";
import { CHUNK_SIZE, FILE_HEADER_LEN, openFileHeader } from "../../crypto/age_stream.ts";
import { DecryptError } from "../../crypto/primitives.ts";
import type { PeerChannel } from "../../net/peer_net.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import {
  candidateHost,
  DIRECT_MS,
  type DirectWait,
  encodeIndex,
  listenForSender,
  recvWithin,
} from "./direct.ts";
import { openPart, type PartHash } from "./disk.ts";
import { PartWriter } from "./part_writer.ts";
import { Pushes } from "./carrier.ts";
import type { InRecord } from "./book.ts";
import { chunkOffset, cipherSize, RELAY_BATCH } from "./layout.ts";
import { Stall } from "./stall.ts";
import { fileChange } from "./watch.ts";
import type { FileOps } from "./channel.ts";
import type { ServerFile } from "./transfer_types.ts";
import { ErrorCode, TAKEN_ELSEWHERE } from "../../protocol/errors.ts";

/** What the receiving side needs of a FileTransfers. */
export interface Receiving {
  client: ChatClient;
  ops: FileOps;
  /** The pause between looks on a server that cannot tell when a file grows (watch.ts). */
  pollMs: number;
  /** How long the relay may send no new byte before the download fails (stall.ts). */
  stallMs: number;
  /** Whether an accepted offer opens the direct path. */
  direct: boolean;
  serverFiles(): Promise<ServerFile[]>;
}

/** Reads in flight while downloading from the relay: hides the round trip of one request. */
const WINDOW = 4;
/** A direct channel silent this long is given up (the relay takes over). */
const SILENT_MS = 15_000;

/**
 * Waits until the server holds more of `rec` than `have` bytes (the sender is behind): woken by the
 * server when the file grows, within the stall bound.
 */
async function behind(ft: Receiving, rec: InRecord, have: number, stall: Stall): Promise<void> {
  await stall.race(
    fileChange(ft.client.conn, rec.fid, { have, state: "uploading" }, stall.left(), ft.pollMs),
  );
}

/**
 * Whether file `fid` is held by another node of a cluster whose files folder this node cannot see
 * (`files_not_shared`): its bytes cannot come by this node, but its direct path can still open.
 */
const onAnotherNode = (ft: Receiving, fid: string): Promise<boolean> =>
  fileChange(ft.client.conn, fid, { have: 0, state: "uploading" }, 0, 0).then(
    () => false,
    (e) => e instanceof BackendError && e.code === ErrorCode.FilesNotShared,
  );

/**
 * Opens the direct path for an accepted offer while its sender is still uploading (a file the
 * server holds whole comes from there), or while another node holds it (`onAnotherNode`): listens,
 * tells the sender where, end to end.
 */
export async function listenDirect(
  ft: Receiving,
  rec: InRecord,
  open = ft.direct,
): Promise<DirectWait | null> {
  const host = open ? candidateHost(ft.client.conn.conn.localHost) : null;
  if (!host) return null;
  const onServer = (await ft.serverFiles().catch(() => [])).find((f) => f.fid === rec.fid);
  if (onServer ? onServer.state !== "uploading" : !(await onAnotherNode(ft, rec.fid))) return null;
  const w = listenForSender({
    fid: rec.fid,
    host,
    identity: await ft.ops.identity(),
    expect: await ft.ops.pinned(rec.from),
  });
  try {
    await ft.ops.ready(rec.from, w.ready);
    return w;
  } catch {
    await w.close();
    return null;
  }
}

/**
 * Fills `part` from the sender's direct channel while it lasts, then from the relay. Returns the
 * channel when the direct path carried the file to its end (it is told `OK` once verified) and the
 * SHA-256 of the whole `.part`, hashed as it was written.
 */
export async function download(
  ft: Receiving,
  rec: InRecord,
  part: string,
  onDone: (n: number) => void,
  direct: DirectWait | null,
): Promise<{ ch: PeerChannel | null; sha256: string }> {
  const key = fromBase64(rec.key);
  const { out, next, hash } = await openPart(part, rec.size);
  try {
    let w: PartWriter | null = null;
    const ch = direct && (await direct.channel);
    if (ch) {
      try {
        await ch.send(encodeIndex(next));
        const header = await recvWithin(ch, DIRECT_MS, true);
        if (header) {
          w = new PartWriter(out, await openFileHeader(key, header), rec.size, next, hash);
          // A frame is decrypted while the one before it is written and the next one arrives.
          const pushes = new Pushes(w);
          try {
            for (let b; !w.complete && (b = await recvWithin(ch, SILENT_MS, true));) {
              await pushes.add(b);
              onDone(Math.min(rec.size, w.next * CHUNK_SIZE)); // the last chunk may be short
            }
          } catch (e) {
            await pushes.done().catch(() => {});
            throw e;
          }
          await pushes.done();
        }
      } catch (e) {
        // Bulk frames are not sealed by the channel: bad data is refused chunk by chunk (nothing of
        // it written) and the relay, whose copy the sender authenticated too, takes over.
        if (!(e instanceof DecryptError)) throw e;
      }
      if (w?.done) return { ch, sha256: hash.hex() };
      ch.close(); // the relay goes on from the last verified chunk (a torn or refused one is dropped)
      w?.restart();
    }
    const stall = new Stall(ft.stallMs, `the server to send more of ${rec.name} (from ${rec.from})`);
    w ??= await relayWriter(ft, rec, out, key, next, hash, stall);
    await relayDownload(ft, rec, w, onDone, stall);
    return { ch: null, sha256: hash.hex() };
  } finally {
    out.close();
  }
}

async function relayGet(ft: Receiving, rec: InRecord, off: number, len: number): Promise<Uint8Array> {
  const r = await ft.client.conn.request("file.get", { fid: rec.fid, off, len });
  if (Number(r.header.size) !== cipherSize(rec.size)) {
    throw new BackendError("file_size", `${rec.name} on the server is not the size its sender offered`);
  }
  return r.body;
}

async function relayWriter(
  ft: Receiving,
  rec: InRecord,
  out: Deno.FsFile,
  key: Uint8Array,
  next: number,
  hash: PartHash,
  stall: Stall,
): Promise<PartWriter> {
  let header: Uint8Array;
  while (!(header = await stall.race(relayGet(ft, rec, 0, FILE_HEADER_LEN))).length) {
    await behind(ft, rec, 0, stall); // the sender has not uploaded that far yet
  }
  if (header.length !== FILE_HEADER_LEN) throw new DecryptError("Truncated file header");
  return new PartWriter(out, await openFileHeader(key, header), rec.size, next, hash);
}

async function relayDownload(
  ft: Receiving,
  rec: InRecord,
  w: PartWriter,
  onDone: (n: number) => void,
  stall: Stall,
): Promise<void> {
  const total = cipherSize(rec.size);
  // Up to WINDOW reads in flight; a short one (the sender is behind) drops those after it. Bodies
  // are decrypted while earlier ones are written (carrier.ts `Pushes`).
  const ahead: { off: number; len: number; body: Promise<Uint8Array> }[] = [];
  const pushes = new Pushes(w);
  let next = chunkOffset(w.next);
  try {
    while (!w.complete) {
      while (next < total && ahead.length < WINDOW) {
        const len = Math.min(RELAY_BATCH * (chunkOffset(1) - chunkOffset(0)), total - next);
        const body = relayGet(ft, rec, next, len);
        body.catch(() => {}); // awaited in order below
        ahead.push({ off: next, len, body });
        next += len;
      }
      onDone(w.next * CHUNK_SIZE);
      const a = ahead.shift()!;
      const body = await stall.race(a.body);
      stall.moved(a.off + body.length);
      if (body.length < a.len) {
        await Promise.allSettled(ahead.splice(0).map((x) => x.body));
        next = a.off + body.length;
        if (!body.length) await behind(ft, rec, a.off, stall); // the sender has not uploaded that far yet
      }
      await pushes.add(body);
    }
  } catch (e) {
    await pushes.done().catch(() => {});
    throw e;
  } finally {
    await Promise.allSettled(ahead.map((x) => x.body));
  }
  await pushes.done();
}

/**
 * Marks `elsewhere` the offers still waiting in this folder that another device of `user` took
 * meanwhile (`server`, the server's `file.list`, has them done), so `/files` and `parley files` say so
 * at once instead of "offered" until tried.
 */
export async function reconcileTaken(
  ops: FileOps,
  user: string,
  server: readonly ServerFile[],
): Promise<void> {
  const taken = new Set(
    server.filter((f) => f.state === "done" && !f.room && f.to === user).map((f) => f.fid),
  );
  const waiting = (r: InRecord) => r.state === "offered" && !r.room && taken.has(r.fid);
  if (!taken.size || !(await ops.book()).in.some(waiting)) return;
  await ops.update((b) => ({
    ...b,
    in: b.in.map((r) => (waiting(r) ? { ...r, state: "elsewhere", error: TAKEN_ELSEWHERE } : r)),
  }));
}
