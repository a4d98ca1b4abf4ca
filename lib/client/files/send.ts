/**
 * The sending side of a file transfer (issue 12; `FileTransfers.send` and room_send.ts drive it):
 * the age header and cipher of a remembered upload (`prepared`: the same key and header seed give the
 * same header after a restart), the record's updates in the book (out_record.ts `setOut`), progress in
 * plaintext bytes (`upProgress`), and `upload` — create the file on the server, send the offer as an
 * encrypted DM control message, its SHA-256 after it once hashed, then the ciphertext over the
 * relay (upload.ts), the direct path only (send_direct.ts) or the relay moving to the direct path
 * once the recipient opens one (`auto`). Reads the file through disk.ts.
 * An upload ends for good (withdraw.ts `endUpload`: withdrawn from the server, its record failed,
 * never resumed) on a refusal it cannot get past (`endsUpload`), when its file changed or went away
 * before a resume (`stillSendable`: a resume never sends another version than the one offered), and
 * when the same path is sent to the same target again in another version (`uploadRecord`). A file
 * the relay refuses for its size goes by the direct path instead (`create`), and a send to a user
 * who does not exist leaves no record (out_record.ts `dropOut`).
 */
import { fromBase64, toBase64 } from "../../common/bytes.ts";
import { cryptoRandom, randomId } from "../../common/random.ts";
import { ChunkedEncryptor, HEADER_SEED_LEN, openFileHeader, seeded } from "../../crypto/age_stream.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { withoutHash } from "../../protocol/names.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { FileOps } from "./channel.ts";
import type { Source } from "./cipher.ts";
import { checkUnchanged, type FileSum, openToSend, sendable } from "./disk.ts";
import { bounded, type OutRecord } from "./book.ts";
import { dial, directOnly, forgetCopy, waitText } from "./send_direct.ts";
import { cipherSize, plainBefore } from "./layout.ts";
import { Stall } from "./stall.ts";
import type { SendMode, TransferProgress } from "./transfer_types.ts";
import { endsUpload, endUpload } from "./withdraw.ts";
import { dropOut, setOut } from "./out_record.ts";
import { relayUpload } from "./upload.ts";

/** What sending needs of a FileTransfers. */
export interface Sending {
  client: ChatClient;
  ops: FileOps;
  stallMs: number;
  progress(p: TransferProgress): void;
}

const EMPTY = new Uint8Array(0);

/** Progress of upload `rec` at ciphertext offset `off`, in plaintext bytes as the recipient sees it. */
export const upProgress = (ft: Sending, rec: OutRecord) => (off: number, state: TransferProgress["state"]) =>
  ft.progress({
    fid: rec.fid,
    name: rec.name,
    peer: rec.to,
    direction: "up",
    done: plainBefore(rec.size, off),
    total: rec.size,
    state,
    ...(rec.to.startsWith("#") ? { room: withoutHash(rec.to) } : {}),
  });

/** The file of upload `rec` opened, with its header and cipher (`sum` sees the plaintext read). */
export async function prepared(
  rec: OutRecord,
  sum: FileSum | null,
): Promise<{ key: Uint8Array; src: Source }> {
  const key = fromBase64(rec.key);
  const salt = fromBase64(rec.salt);
  if (salt.length !== HEADER_SEED_LEN) {
    throw new BackendError("file_failed", "This upload began in the old file format: send the file again");
  }
  const header = (await ChunkedEncryptor.create(key, seeded(salt))).header;
  const cipher = await openFileHeader(key, header);
  const file = await openToSend(rec.path);
  return {
    key,
    src: { file, cipher, header, size: rec.size, seen: sum ? (o, b) => sum.seen(o, b) : undefined },
  };
}

/** Sends a body of upload `rec` at `off`; resolves with how far the server has it. */
async function put(ft: Sending, rec: OutRecord, off: number, body: Uint8Array | readonly Uint8Array[]) {
  return (await putFile(ft, rec, off, body)).have;
}

/** `file.put` of upload `rec` (`direct`: created as a record only); how far the server has it, and whether direct. */
async function putFile(
  ft: Sending,
  rec: OutRecord,
  off: number,
  body: Uint8Array | readonly Uint8Array[],
  direct = false,
): Promise<{ have: number; direct: boolean }> {
  const h = { fid: rec.fid, to: rec.to, size: cipherSize(rec.size), off, ...(direct ? { direct } : {}) };
  const r = await ft.client.conn.request("file.put", h, body);
  return { have: Number(r.header.have), direct: r.header.direct === true };
}

/** Refusals of a relayed file for its size alone: it can still go straight to its recipient. */
const TOO_BIG: ReadonlySet<string> = new Set([
  ErrorCode.FileTooLarge,
  ErrorCode.OverQuota,
  ErrorCode.ServerFull,
  ErrorCode.DiskFull,
]);

/**
 * Creates upload `rec` on the server (or finds how far it got): its record only when it goes by the
 * direct path (`direct`; no byte, no quota), else the relay's file. An `auto` upload the relay
 * refuses for its size goes direct instead, and says so (`notice`). Resolves with the server's
 * offset and whether the file goes direct (the server says so of a file made direct before).
 */
async function create(
  ft: Sending,
  rec: OutRecord,
  mode: SendMode,
  waitMs: number,
): Promise<{ have: number; direct: boolean }> {
  const ask = (direct: boolean) => putFile(ft, rec, 0, EMPTY, direct);
  if (mode === "direct") {
    // A server before direct records refuses the field (`invalid`): the relay's file then, as before.
    return await ask(true).catch((e) => {
      if (e instanceof BackendError && e.code === ErrorCode.Invalid) return ask(false);
      throw e;
    }).then((r) => ({ ...r, direct: true }));
  }
  try {
    return await ask(false);
  } catch (e) {
    if (mode !== "auto" || !(e instanceof BackendError && TOO_BIG.has(e.code))) throw e;
    ft.client.notify({
      type: "notice",
      level: "warn",
      text: `The server does not relay ${rec.name}: ${e.message}. It goes straight to ${rec.to} once ` +
        `they accept it (${waitText(waitMs)})`,
    });
    return { ...(await ask(true)), direct: true };
  }
}

/**
 * The relay from `have` on; in `auto` mode the direct path takes over once the recipient opens it:
 * its candidate is looked for at the start and after each change of the folder's records (files/channel.ts
 * `filed`: one filed here, or another process's commit), not on a timer.
 */
async function relayed(ft: Sending, rec: OutRecord, src: Source, mode: SendMode, have: number) {
  const ended = new AbortController();
  let changed = mode === "auto";
  const arm = (): void =>
    void ft.ops.filed(Infinity, ended.signal).then(() => {
      if (ended.signal.aborted) return;
      changed = true;
      arm();
    });
  if (changed) arm();
  try {
    return await relayUpload({
      src,
      put: (off, body) => put(ft, rec, off, body),
      direct: async () => {
        if (!changed) return null; // asked before every body: nothing new filed since the last look
        changed = false;
        const r = await ft.ops.candidateNow(rec.to, rec.fid);
        return r ? await dial(ft, r, rec.to).catch(() => null) : null;
      },
      progress: (d) => upProgress(ft, rec)(d, "active"),
      stall: new Stall(ft.stallMs, `the server to take ${rec.name}`),
    }, have);
  } finally {
    ended.abort();
  }
}

/**
 * Offers upload `rec` to its recipient (once) and sends it; its SHA-256 (`sum`, hashed on the way)
 * follows the offer. Resolves with the path the file went by once it is all sent.
 */
export async function upload(
  ft: Sending,
  rec: OutRecord,
  mode: SendMode,
  waitMs: number,
  sum: FileSum | null,
): Promise<"direct" | "relay"> {
  const p = upProgress(ft, rec);
  const { key, src } = await prepared(rec, sum);
  let via: "direct" | "relay" = "relay";
  let summed: Promise<void> = Promise.resolve();
  try {
    const { have, direct } = await create(ft, rec, mode, waitMs);
    // A file that goes only straight is offered again each time its send waits: a recipient who
    // accepted it while this sender was away takes it now (files/channel.ts "file.again").
    if (!rec.offered || direct) {
      await ft.ops.offer(rec.to, { fid: rec.fid, name: rec.name, size: rec.size, key, sha256: rec.sha256 });
      if (!rec.offered) await setOut(ft.ops, rec.fid, { offered: true });
    }
    // The SHA-256 follows the offer once hashed (meanwhile the file goes); a restarted sender
    // that had not sent it yet hashes and sends it again.
    summed = !sum ? Promise.resolve() : sum.done.then(async (h) => {
      await ft.ops.sum(rec.to, rec.fid, h);
      await setOut(ft.ops, rec.fid, { sha256: h });
    });
    summed.catch(() => {}); // awaited below
    if (direct) {
      await directOnly(ft, rec, src, { waitMs, kept: mode !== "direct", progress: upProgress(ft, rec) });
      via = "direct";
    } else via = await relayed(ft, rec, src, mode, have);
    sum?.finish(); // a no-op once every byte was seen on the way
    await checkUnchanged(rec.path, rec.size, rec.mtime);
    await summed;
    if (via === "direct") await forgetCopy(ft, rec);
  } catch (e) {
    // A recipient who does not exist was offered nothing: the typo leaves no record behind.
    const typo = e instanceof BackendError && e.code === ErrorCode.NoSuchUser &&
      (await dropOut(ft.ops, rec.fid));
    if (!typo && endsUpload(e)) await endUpload(ft, rec);
    p(0, "failed");
    throw e;
  } finally {
    src.file.close();
  }
  await setOut(ft.ops, rec.fid, { state: "sent" });
  p(cipherSize(rec.size), "done");
  return via;
}

/**
 * Returns when upload `rec`'s file is still the one offered (disk.ts `checkUnchanged`); else throws
 * `file_changed` (`no_file` when it is gone), which ends the upload: a resume never sends another version.
 */
export async function stillSendable(rec: OutRecord): Promise<void> {
  try {
    await checkUnchanged(rec.path, rec.size, rec.mtime);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new BackendError("no_file", `${rec.path} is gone; sending it to ${rec.to} ends`);
    }
    if (!(e instanceof BackendError && e.code === "file_changed")) throw e;
    throw new BackendError(
      "file_changed",
      `${rec.path} changed since it was offered to ${rec.to}; that transfer ends (send the file again to send it as it is now)`,
    );
  }
}

/**
 * The unfinished upload of `path` to `to` (a user, or `#room`) if the file is unchanged since, else a
 * new record with a fresh file key and header seed, remembered in the book (book.ts; one home of that rule);
 * an unfinished upload of another version of that path to `to` then ends (the recipient gets this one).
 */
export async function uploadRecord(
  ft: Pick<Sending, "client" | "ops">,
  to: string,
  path: string,
  now: number,
): Promise<OutRecord> {
  const ops = ft.ops;
  const f = await sendable(path);
  const list = (await ops.book()).out;
  const mine = list.filter((r) => r.state === "uploading" && r.to === to && r.path === f.real);
  const old = mine.find((r) => r.size === f.size && r.mtime === f.mtime);
  if (old) return old;
  for (const r of mine) await endUpload(ft, r);
  const rec: OutRecord = {
    fid: randomId(undefined, 16),
    to,
    path: f.real,
    name: f.name,
    size: f.size,
    mtime: f.mtime,
    sha256: "", // hashed while the file goes, sent after the offer
    key: toBase64(cryptoRandom(32)),
    salt: toBase64(cryptoRandom(HEADER_SEED_LEN)),
    at: now,
    state: "uploading",
  };
  await ops.update((b) => ({ ...b, out: bounded([...b.out, rec], (x) => x.state === "uploading") }));
  return rec;
}
