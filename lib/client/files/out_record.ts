/**
 * The one way a sent file's record (book.ts `OutRecord`) changes after it was made:
 * `setOut` patches the record of one file id in the store and gives back the list as filed then;
 * `dropOut` forgets one that nobody was offered (its recipient does not exist: a typo is not kept).
 * Used by the sending (send.ts, room_send.ts) and by taking a file back (withdraw.ts).
 */
import type { FileOps } from "./channel.ts";
import type { OutRecord } from "./book.ts";

/** Patches the record of `fid`; the records as filed after it. */
export async function setOut(ops: FileOps, fid: string, patch: Partial<OutRecord>): Promise<OutRecord[]> {
  const b = await ops.update((b) => ({
    ...b,
    out: b.out.map((r) => (r.fid === fid ? { ...r, ...patch } : r)),
  }));
  return b.out;
}

/** Forgets the record of `fid` when its offer never went out; whether it did. */
export async function dropOut(ops: FileOps, fid: string): Promise<boolean> {
  let dropped = false;
  await ops.update((b) => ({
    ...b,
    out: b.out.filter((r) => {
      const drop = r.fid === fid && !r.offered;
      dropped ||= drop;
      return !drop;
    }),
  }));
  return dropped;
}
