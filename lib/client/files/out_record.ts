/**
 * The one way a sent file's record ("files:out", offer.ts `OutRecord`) changes after it was made:
 * `setOut` patches the record of one file id in the store and gives back the list as filed then;
 * `dropOut` forgets one that nobody was offered (its recipient does not exist: a typo is not kept).
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

/** Forgets the record of `fid` when its offer never went out; whether it did. */
export async function dropOut(ops: FileOps, fid: string): Promise<boolean> {
  let dropped = false;
  await ops.update<OutRecord[]>(OUT_KEY, (l) =>
    (l ?? []).filter((r) => {
      const drop = r.fid === fid && !r.offered;
      dropped ||= drop;
      return !drop;
    }));
  return dropped;
}
