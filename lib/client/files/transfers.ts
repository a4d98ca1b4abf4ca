/**
 * `FileTransfers` (issue 12): end-to-end encrypted, resumable file transfers, relayed by the server
 * or direct between the two clients (direct.ts). With disk.ts and receive.ts (the
 * download side), the client files touching the user's files (besides the stores).
 *
 * Send: pick a random file id, one-time age identity (`key`) and header seed (`salt`: file key,
 * ephemeral secret, payload nonce), remember them in the book (book.ts, in the keystore), then send.ts
 * creates the file on the server, sends the offer as an encrypted DM control message (offer.ts) and
 * uploads the age file (age_stream.ts) in bounded bodies from the offset the server reports. The
 * file is hashed from the plaintext read for its chunks (FileSum); its SHA-256 follows the offer as
 * a second control message. A room's file: room_send.ts. Chunks are encrypted by index,
 * so a restarted sender resumes the same transfer (same key and seed: the same header) from the
 * server's offset.
 *
 * Send modes: `auto` uploads to the relay and moves to the direct path when the recipient opens one
 * (back to the relay if it breaks), `direct` never relays, `relay` never goes direct.
 *
 * Receive (receive.ts): an accepted offer downloads into `<name>.part` beside its final name;
 * every chunk is authenticated (by its index: reordered, duplicated, spliced or changed chunks fail) before its
 * plaintext is written; a restart keeps the whole verified chunks of the `.part` and continues.
 * Only when the last chunk verifies and the size and SHA-256 match the sender's (which may come
 * after the offer: the download waits for it) is the `.part` renamed; a failure removes it. The server then drops its copy (`file.done`).
 */
import { systemClock } from "../../common/clock.ts";
import { DecryptError } from "../../crypto/primitives.ts";
import { normalizeName } from "../../protocol/names.ts";
import { refuseBlocked } from "../e2e/mod.ts";
import { BackendError, type FileOfferInfo } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { type FileOps, fileOpsOf } from "./channel.ts";
import { FileSum, finishPart, partGoes, removePart, resumeTarget } from "./disk.ts";
import { OK } from "./direct.ts";
import type { PeerChannel } from "../../net/peer_net.ts";
import { download, listenDirect } from "./receive.ts";
import { stillSendable, upload, uploadRecord } from "./send.ts";
import { endIfFinal, withdrawSent } from "./withdraw.ts";
import { sendRoom } from "./room_send.ts";
import { STALL_MS } from "./stall.ts";
import { fileChange } from "./watch.ts";
import { bounded, type InRecord, type OutRecord } from "./book.ts";

export type { FileOps };

export type { SendMode, ServerFile, TransferProgress } from "./transfer_types.ts";
import type { SendMode, ServerFile, TransferProgress } from "./transfer_types.ts";

// How long the direct path is waited for: policy.ts (light, for the scripted commands' help).
export { DIRECT_FIRST_MS, DIRECT_WAIT_MS } from "./policy.ts";
import { DIRECT_WAIT_MS } from "./policy.ts";

/** How long a download whose data is complete waits for its sender's SHA-256. */
const SUM_WAIT_MS = 60_000;
const liveIn = (r: InRecord) => r.state === "offered" || r.state === "accepted";

/**
 * Why a file that comes only by the direct path did not come: this client keeps to the relay
 * (`relay`: --relay), keeps its sender to it (`unverified`), or listened and was not reached (`open`).
 */
function directOnly(rec: InRecord, path: "relay" | "unverified" | "open"): BackendError {
  const why = path === "relay"
    ? `take it with the direct path open (without --relay); ${rec.from} then learns your address`
    : path === "unverified"
    ? `only a verified contact may use it here (parley verify ${rec.from})`
    : `${rec.from}'s Parley is not sending it now (offline?); it stays accepted and comes once they send it again`;
  return new BackendError(
    "direct_only",
    `${rec.from} sends ${rec.name} only by the direct path (the server does not relay it), and none opened: ${why}`,
  );
}

export class FileTransfers {
  constructor(
    readonly client: ChatClient,
    readonly ops: FileOps,
    readonly progress: (p: TransferProgress) => void = () => {},
    /** The pause between looks on a server without `file.wait` (watch.ts). */
    readonly pollMs = 200,
    /** Whether an accepted offer opens the direct path (off: the relay only). */
    readonly direct = true,
    /** A transfer moving no byte this long fails with `transfer_stalled` (stall.ts). */
    readonly stallMs = STALL_MS,
  ) {}

  /** How long a file that goes only straight waits for its recipient (send_direct.ts); desk.ts: a day. */
  directWaitMs = DIRECT_WAIT_MS;

  /** The transfers of a client with end-to-end keys (`no_keys` otherwise). */
  static of(
    client: ChatClient,
    progress?: (p: TransferProgress) => void,
    direct = true,
    stallMs = STALL_MS,
  ): FileTransfers {
    const ops = fileOpsOf(client.codec);
    if (!ops) throw new BackendError("no_keys", "Files need end-to-end keys (a client folder)");
    return new FileTransfers(client, ops, progress, undefined, direct, stallMs);
  }

  async incoming(): Promise<InRecord[]> {
    return (await this.ops.book()).in;
  }
  async outgoing(): Promise<OutRecord[]> {
    return (await this.ops.book()).out;
  }
  async serverFiles(): Promise<ServerFile[]> {
    return (await this.client.conn.request("file.list")).header.files as ServerFile[];
  }

  /**
   * Offers `path` to `target` and sends it (resuming an unfinished transfer of the same file):
   * `auto` uploads to the relay and moves to the direct path once the recipient opens one; `direct`
   * waits up to `waitMs` for the recipient to accept and open one, and fails rather than relay;
   * `relay` never goes direct.
   */
  async send(
    target: string,
    path: string,
    mode: SendMode = "auto",
    waitMs = this.directWaitMs,
  ): Promise<{ fid: string; name: string; size: number; sha256: string; via: "direct" | "relay" }> {
    const to = normalizeName(target);
    if (!to) throw new BackendError("usage", `"${target}" is not a valid user name`);
    await refuseBlocked(this.client.codec.blocks, { kind: "user", name: to }); // before any upload
    return await this.#upload(await uploadRecord(this, to, path, this.client.clock.now()), mode, waitMs);
  }

  async #upload(rec: OutRecord, mode: SendMode, waitMs: number) {
    // Hashed from the plaintext read for the chunks (a resumed sender hashes the file on its own).
    const sum = rec.sha256 ? null : new FileSum(rec.path, rec.size);
    sum?.done.catch(() => {}); // awaited by upload()
    const via = await upload(this, rec, mode, waitMs, sum);
    return { fid: rec.fid, name: rec.name, size: rec.size, sha256: sum ? await sum.done : rec.sha256, via };
  }

  /**
   * Continues remembered upload `rec` exactly as it was offered (the full-screen client resumes every
   * unfinished one): when its file changed or is gone, its recipient no longer exists or the sender
   * left its room, the upload ends for good (withdrawn from the server, failed) instead.
   */
  async resume(rec: OutRecord): Promise<{ fid: string; name: string; size: number; sha256: string }> {
    await stillSendable(rec).catch(endIfFinal(this, rec)); // (what comes after ends it on its own)
    return rec.to.startsWith("#")
      ? await sendRoom(this, rec.to, rec.path, rec)
      : await this.#upload(rec, "auto", this.directWaitMs);
  }

  /**
   * Sends `path` to every other member of `room`: one upload, one offer sealed for the whole room
   * (room_send.ts); each member accepts on their own, from the relay.
   */
  sendRoom(
    room: string,
    path: string,
  ): Promise<{ fid: string; name: string; size: number; sha256: string; to: string[] }> {
    return sendRoom(this, room, path);
  }

  /**
   * Waits up to `ms` for the recipient to have the file; true when they do. Woken by the server when
   * the file changes (watch.ts), not by looking again and again.
   */
  async delivered(fid: string, ms: number): Promise<boolean> {
    const end = systemClock.now() + ms;
    const look = async () => (await this.serverFiles()).find((x) => x.fid === fid);
    let f: Pick<ServerFile, "have" | "state"> | undefined = await look();
    while (f && f.state !== "done") {
      const left = end - systemClock.now();
      if (left <= 0) return false;
      try {
        f = (await fileChange(this.client.conn, fid, f, left, this.pollMs)) ?? await look();
      } catch (e) {
        if (e instanceof BackendError && e.code === "no_such_file") return false; // withdrawn or expired
        throw e;
      }
    }
    return f?.state === "done";
  }

  async #setIn(fid: string, from: string, patch: Partial<InRecord>): Promise<void> {
    await this.ops.update((b) => ({
      ...b,
      in: bounded(b.in.map((r) => (r.fid === fid && r.from === from ? { ...r, ...patch } : r)), liveIn),
    }));
  }

  /**
   * The SHA-256 of an offer that came without it, once its sender's "file-sum" is filed (it is
   * usually there before the last chunk). Waits up to SUM_WAIT_MS; then `timeout`, the `.part`
   * kept (receiving again finishes it).
   */
  async #sumOf(rec: InRecord): Promise<string> {
    const end = systemClock.now() + SUM_WAIT_MS;
    for (;;) {
      const look = new AbortController();
      // Listening before the look (no change falls between): woken when it is filed, by any process.
      const changed = this.ops.filed(end - systemClock.now(), look.signal);
      try {
        const r = (await this.incoming()).find((x) => x.fid === rec.fid && x.from === rec.from);
        if (r?.sha256) return r.sha256;
        if (systemClock.now() >= end || this.client.conn.closed) {
          throw new BackendError(
            "timeout",
            `${rec.from} has not sent the SHA-256 of ${rec.name} yet; receive again later`,
          );
        }
        await changed;
      } finally {
        look.abort();
      }
    }
  }

  /**
   * Takes back file `id` (its id, or the start of it) this client sent and its recipient does not
   * have yet: the upload stops for good, the server forgets its copy, the recipient (every member, for
   * a room's file) is told end to end. Resolves with its record; refused (with why) when no such file
   * was sent, it ended already, or the recipient has it.
   */
  withdraw(id: string): Promise<OutRecord> {
    return withdrawSent(this, id);
  }

  /** Refuses an offer: the server forgets the file. */
  async reject(offer: Pick<FileOfferInfo, "fid" | "from">): Promise<void> {
    await this.#setIn(offer.fid, offer.from, { state: "rejected" });
    await this.client.conn.request("file.abort", { fid: offer.fid }).catch(() => {});
  }

  /**
   * Downloads an accepted offer into `dir` (resuming a `.part` left by an earlier run); resolves
   * with the saved path once the size and SHA-256 match the offer. `direct: false` keeps this one
   * on the relay (its sender never learns this machine's address).
   */
  async accept(
    offer: Pick<FileOfferInfo, "fid" | "from">,
    dir: string,
    o: { direct?: boolean } = {},
  ): Promise<{ path: string; rec: InRecord; via: "direct" | "relay" }> {
    const rec = (await this.incoming()).find((r) => r.fid === offer.fid && r.from === offer.from);
    if (!rec || !liveIn(rec)) throw new BackendError("no_offer", "There is no such file offer waiting");
    const target = await resumeTarget(dir, rec.name, rec.path); // its folder gone since: saved anew in `dir`
    if (target !== rec.path) await this.#setIn(rec.fid, rec.from, { state: "accepted", path: target });
    const part = `${target}.part`;
    const total = rec.size;
    const p = (done: number, state: TransferProgress["state"]) =>
      this.progress({
        fid: rec.fid,
        name: rec.name,
        peer: rec.from,
        direction: "down",
        done,
        total,
        state,
        ...(rec.room ? { room: rec.room } : {}),
      });
    // A room's file is one upload for every member: it comes from the relay.
    const direct = await listenDirect(this, rec, this.direct && o.direct !== false && !rec.room);
    let ch: PeerChannel | null = null;
    try {
      let sum: string;
      ({ ch, sha256: sum } = await download(this, rec, part, (d) => p(d, "active"), direct));
      const sha256 = rec.sha256 || await this.#sumOf(rec);
      const final = await finishPart(part, target, { ...rec, sha256 }, sum);
      await this.#setIn(rec.fid, rec.from, { state: "done", path: final });
      await this.client.conn.request("file.done", { fid: rec.fid }).catch(() => {});
      await ch?.send(OK).catch(() => {});
      p(total, "done");
      return {
        path: final,
        rec: { ...rec, sha256, state: "done", path: final },
        via: ch ? "direct" : "relay",
      };
    } catch (e) {
      if (partGoes(e)) {
        await removePart(part);
        // Withdrawn while it came ("file-gone" filed): it stays so, and says so.
        const now = (await this.incoming()).find((r) => r.fid === rec.fid && r.from === rec.from);
        if (now?.state === "withdrawn") {
          p(0, "failed");
          throw new BackendError("file_withdrawn", `${rec.from} withdrew ${rec.name}`);
        }
        if (e instanceof BackendError && e.code === "file_taken") {
          await this.#setIn(rec.fid, rec.from, { state: "elsewhere", error: e.message });
          p(0, "failed");
          throw new BackendError("file_taken", `${rec.name} from ${rec.from}: ${e.message}`);
        }
        await this.#setIn(rec.fid, rec.from, { state: "failed", error: (e as Error).message });
      }
      p(0, "failed");
      if (e instanceof BackendError && e.code === "direct_only") { // stays accepted: a later run takes it
        throw directOnly(rec, !this.direct ? "relay" : o.direct === false ? "unverified" : "open");
      }
      if (e instanceof DecryptError) {
        throw new BackendError("file_tampered", `${rec.name} from ${rec.from} was refused: ${e.message}`);
      }
      throw e;
    } finally {
      ch?.close();
      await direct?.close();
    }
  }
}
