/**
 * Taking a file back (the sender's side): `withdrawUpload` — its record says so first, the server
 * forgets its copy, and a recipient it was offered to is told end to end ("file-gone", offer.ts) —
 * used for an upload that ends for good (`endUpload`) and by `withdrawSent`, the sender's own
 * "take it back" (`parley files withdraw FID`, `/withdraw N`), refused once the recipient has it; and
 * which refusals end an upload for good (`endsUpload`, `endIfFinal`).
 */
import { BackendError } from "../backend.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { OutRecord } from "./book.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { FileOps } from "./channel.ts";
import type { ServerFile } from "./transfer_types.ts";
import { setOut } from "./out_record.ts";

/** What taking a file back uses of a FileTransfers. */
type Sender = { client: ChatClient; ops: FileOps };

/**
 * Takes upload `rec` back: its record says `state` first (a resume of it can no longer start), then
 * the server forgets its copy and its recipient (every member, for a room's file) is told, end to
 * end, when it was offered. Nothing is refused: no copy on the server or no recipient any more is
 * nothing to withdraw.
 */
export async function withdrawUpload(
  ft: Sender,
  rec: OutRecord,
  state: "failed" | "withdrawn",
): Promise<void> {
  const list = await setOut(ft.ops, rec.fid, { state });
  await ft.client.conn.request("file.abort", { fid: rec.fid }).catch(() => {});
  // As filed now: an upload marks its offer sent in the store, not in the record it was handed.
  if ((list.find((r) => r.fid === rec.fid) ?? rec).offered) {
    await ft.ops.gone(rec.to, rec.fid).catch(() => {});
  }
}

/** Refusals after which an upload can never finish (`no_room`: room_send.ts, the sender left the room). */
const FINAL: ReadonlySet<string> = new Set([
  "file_changed",
  ErrorCode.FileTooLarge, // (an auto upload goes direct instead: `create`)
  "direct_failed",
  "file_refused", // send_direct.ts: its recipient refused it while it waited for them
  "no_file",
  "no_room",
  ErrorCode.NoSuchUser,
  ErrorCode.NotMember,
]);

/** Whether `e` ends an upload for good: its file changed or is gone, or its target refuses it for good. */
export function endsUpload(e: unknown): boolean {
  return e instanceof BackendError && FINAL.has(e.code);
}

/**
 * Ends upload `rec` for good: its record says failed (so nothing resumes it), the server's copy is
 * withdrawn and a recipient who was offered it is told (`file-gone`).
 */
export async function endUpload(ft: Sender, rec: OutRecord): Promise<void> {
  await withdrawUpload(ft, rec, "failed");
}

/** A catch handler: ends upload `rec` when `e` ends it for good (`endsUpload`), then throws `e` on. */
export const endIfFinal = (ft: Sender, rec: OutRecord) => async (e: unknown): Promise<never> => {
  if (endsUpload(e)) await endUpload(ft, rec);
  throw e;
};

/** The one upload `id` names (a start of its file id), or why not. */
function pickUnique(list: OutRecord[], id: string): OutRecord {
  if (list.length === 1) return list[0]!;
  if (!list.length) {
    throw new BackendError("no_such_file", `You sent no file ${id} ('parley files' lists them)`);
  }
  throw new BackendError("usage", `${id} is the start of ${list.length} file ids: give more of it`);
}

/**
 * Takes back file `id` (its id, or the start of it, 4 characters or more) sent from this folder
 * whose recipient does not have it yet (`withdrawUpload`); resolves with its record. Refused, with
 * why, when no such file was sent, it ended already, or the recipient has it.
 */
export async function withdrawSent(
  ft: Sender & { serverFiles(): Promise<ServerFile[]> },
  id: string,
): Promise<OutRecord> {
  const mine = (await ft.ops.book()).out;
  const found = mine.filter((r) => r.fid === id);
  if (!found.length && id.length < 4) {
    throw new BackendError("usage", `"${id}" is too short: give 4 or more characters of the file id`);
  }
  const rec = found.length ? found[0]! : pickUnique(mine.filter((r) => r.fid.startsWith(id)), id);
  if (rec.state === "failed" || rec.state === "withdrawn") {
    throw new BackendError("invalid", `${rec.name} to ${rec.to} has ended already (${rec.state})`);
  }
  if (rec.state === "sent") {
    const f = (await ft.serverFiles()).find((x) => x.fid === rec.fid);
    if (!f || f.state === "done") {
      throw new BackendError(
        "invalid",
        f
          ? `${rec.to} has ${rec.name} already`
          : `${rec.name} is no longer on the server (${rec.to} has it, or it expired)`,
      );
    }
  }
  await withdrawUpload(ft, rec, "withdrawn");
  return { ...rec, state: "withdrawn" };
}
