/**
 * A file that goes only by the direct path (a `--direct`/`--direct-only` send, or one the relay refused for its size:
 * send.ts `create`): `directOnly` waits for the recipient's candidate (files/channel.ts), dials it
 * and pushes the whole file (direct.ts). A candidate it cannot reach — filed by a recipient who
 * listened while this sender was away — makes it wait for the next, up to DIALS. None in time ends a
 * file the relay refused with `direct_waiting`, the offer and the record kept for a later send (or
 * the full-screen client) to resume; a `--direct-only` send fails for good (`--direct` then relays: cli/files.ts). `forgetCopy` drops the
 * server's copy once the file went straight.
 */
import { type PeerChannel, PeerNetError } from "../../net/peer_net.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { FileOps } from "./channel.ts";
import type { Source } from "./cipher.ts";
import { dialRecipient, pushDirect } from "./direct.ts";
import type { FileReady } from "./offer.ts";
import type { OutRecord } from "./book.ts";
import type { ServerFile, TransferProgress } from "./transfer_types.ts";
import { fileChange } from "./watch.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { FILE_WAIT_MAX_MS } from "../../protocol/messages.ts";

/** What the direct path needs of a FileTransfers. */
interface Direct {
  client: ChatClient;
  ops: FileOps;
}

/**
 * After a file went straight to its recipient: the server's record of it goes too when the
 * recipient's done did not reach it (a server before 0.16, or a node of a cluster that does not
 * share its files folder), so what the relay took before the direct path opened does not wait there,
 * counted in the sender's quota, until it expires.
 */
export async function forgetCopy(ft: Direct, rec: OutRecord): Promise<void> {
  const now = await fileChange(ft.client.conn, rec.fid, { have: 0, state: "done" }, 0, 0).catch(() => null);
  if (now && now.state !== "done") {
    await ft.client.conn.request("file.abort", { fid: rec.fid }).catch(() => {});
  }
}

/** A channel to the recipient at candidate `r`, its identity the one pinned for `to`. */
export async function dial(ft: Direct, r: FileReady, to: string): Promise<PeerChannel> {
  return await dialRecipient(r, await ft.ops.identity(), await ft.ops.pinned(to));
}

/** How long a direct-only send waits, said: minutes, or for a client that waits as long as it runs. */
export const waitText = (ms: number): string =>
  ms < 3_600_000 ? `waiting up to ${span(ms)}` : "waiting as long as Parley runs";

/** A wait said in seconds under two minutes, else in minutes. */
const span = (ms: number) => ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;

/** The pause between looks at a direct-only file's record where the server cannot wait (or is gone). */
const GONE_LOOK_MS = 2000;

/** Candidates of one recipient nobody answers at (stale: it listened before) a direct-only send passes over before it gives up. */
const DIALS = 3;

/**
 * The whole file straight to the recipient once it opens its direct path (up to `waitMs`). A candidate
 * it cannot reach (one the recipient filed before, its listener gone since) waits for the next, up to
 * DIALS. None in time: a file the relay refused (`kept`) ends this send with `direct_waiting`, the
 * offer kept (a later send resumes it); a direct send fails for good (`direct_failed`: `--direct` then
 * sends it through the server, cli/files.ts).
 */
export async function directOnly(
  ft: Direct,
  rec: OutRecord,
  src: Source,
  o: { waitMs: number; kept: boolean; progress: (off: number, state: TransferProgress["state"]) => void },
): Promise<void> {
  const clock = ft.client.clock, until = clock.now() + o.waitMs;
  const watch = { done: false };
  const refused = recordGone(ft, rec, watch).then(() => {
    throw new BackendError(
      "file_refused",
      `${rec.to} refused ${rec.name} (or the server let it expire): it is not offered any more`,
    );
  });
  let ch: PeerChannel | null = null;
  try {
    for (let failed = 0; !ch;) {
      const next = ft.ops.candidate(rec.to, rec.fid, Math.max(0, until - clock.now())).catch((e) => {
        throw o.kept ? notTaken(rec, o.waitMs) : e;
      });
      const r = await Promise.race([next, refused]);
      ch = await dial(ft, r, rec.to).catch((e) => {
        // Nobody at that address (a stale candidate): the next one; any other failure (not the key
        // pinned for them: an impostor) ends it now.
        const stale = e instanceof PeerNetError && e.code === "unreachable";
        if (stale && ++failed < DIALS) return null;
        throw new BackendError("direct_failed", `No direct path to ${rec.to}: ${e.message}`);
      });
    }
  } finally {
    watch.done = true;
    refused.catch(() => {});
  }
  if (!(await pushDirect(ch, src, (d) => o.progress(d, "active")))) {
    throw new BackendError(
      "direct_failed",
      `The direct path to ${rec.to} broke off; the offer is withdrawn (send again, or without --direct)`,
    );
  }
}

/**
 * Resolves once the server no longer holds `rec`'s record — its recipient refused it (`file.abort`),
 * it was withdrawn or it expired — watching with `file.wait` until `watch.done`; never otherwise.
 */
async function recordGone(ft: Direct, rec: OutRecord, watch: { done: boolean }): Promise<void> {
  let now: Pick<ServerFile, "have" | "state"> = { have: 0, state: "uploading" };
  while (!watch.done) {
    try {
      now = (await fileChange(ft.client.conn, rec.fid, now, FILE_WAIT_MAX_MS, GONE_LOOK_MS)) ?? now;
    } catch (e) {
      if (e instanceof BackendError && e.code === ErrorCode.NoSuchFile) return;
      await new Promise((r) => setTimeout(r, GONE_LOOK_MS)); // offline: look again
    }
  }
  return await new Promise<void>(() => {}); // the send ended first
}

/** A direct-only send nobody opened a path for in time: it ends here, its offer kept. */
function notTaken(rec: OutRecord, waitMs: number): BackendError {
  return new BackendError(
    "direct_waiting",
    `${rec.to} did not take ${rec.name} within ${
      span(waitMs)
    } (are they online? parley who): it stays offered; ` +
      `send it again to wait once more (--wait S for longer), or from the full-screen client, which waits as long as it runs`,
  );
}
