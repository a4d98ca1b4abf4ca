/**
 * Which offered files an unattended receiver takes (issue 33 point 6): `parley receive` (cli/files_receive.ts)
 * and peer mode's `--accept-files` (carried_offer.ts). Pure.
 *   - from whom: the sender named by `--from`; else verified contacts only, unless `--from-anyone`.
 *     A transfer accepted before (resumed) is taken from its sender whatever the rule.
 *   - how: the direct path tells the sender this machine's address and an open port, so it opens
 *     only for a named or verified sender; anyone else's file comes through the relay.
 *   - how big: at most `maxSize` (default 4 GiB) and no more than the download folder can hold.
 */
import { sizeText } from "../../common/progress.ts";

/** The largest file `receive` takes when no `--max-size` is given. */
export const DEFAULT_MAX_SIZE = 4 * 2 ** 30;

/** How long `--direct-only` waits for the recipient to accept (when no --wait is given). */
export const DIRECT_WAIT_MS = 300_000;

/** How long `--direct` waits for the recipient to accept before it sends through the server (no --wait given). */
export const DIRECT_FIRST_MS = 15_000;

export interface AcceptRules {
  /** The one sender named (`--from`). */
  from?: string;
  /** Take files from senders who are not verified contacts too (`--from-anyone`). */
  anyone: boolean;
  maxSize: number;
}

export interface Offered {
  from: string;
  name: string;
  size: number;
  /** Accepted before: a transfer to resume. */
  resumed: boolean;
}

export type Verdict = { take: true; direct: boolean } | { take: false; why: string };

/**
 * Whether to take `o` and by which path: `verified` is the sender's state in the keystore, `room`
 * the bytes the download folder can still take for it (null when unknown).
 */
export function judgeOffer(r: AcceptRules, o: Offered, verified: boolean, room: number | null): Verdict {
  const named = r.from !== undefined && o.from === r.from;
  if (r.from !== undefined && !named) return { take: false, why: `it is not from ${r.from}` };
  if (!named && !verified && !r.anyone && !o.resumed) {
    return {
      take: false,
      why: `${o.from} is not a verified contact (parley receive --from ${o.from}, or --from-anyone)`,
    };
  }
  if (o.size > r.maxSize) {
    return { take: false, why: `${sizeText(o.size)} is over the size limit (${sizeText(r.maxSize)})` };
  }
  if (room !== null && o.size > room) {
    return { take: false, why: `${sizeText(o.size)} does not fit: ${sizeText(room)} free` };
  }
  return { take: true, direct: named || verified };
}
