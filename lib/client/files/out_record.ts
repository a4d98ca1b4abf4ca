/**
 * The one way a sent file's record ("files:out", offer.ts `OutRecord`) changes after it was made:
 * `setOut` patches the record of one file id in the store and gives back the list as filed then.
 * Used by the sending (send.ts, room_send.ts) and by taking a file back (withdraw.ts).
 */
import type { FileOps } from "./channel.ts";
import { OUT_KEY, type OutRecord } from "./offer.ts";

/** Patches the record of `fid`; the records as filed after it. */
export async function setOut(ops: FileOps, fid: string, patch: Partial<OutRecord>): Promise<OutRecord[]> {
  return await ops.update<OutRecord[]>(
    OUT_KEY,
    (l) => (l ?? []).map((r) => (r.fid === fid ? { ...r, ...patch } : r)),
  );
}
