/**
 * Waiting for a relayed file to change (issue 36: hand-offs are events, not polls). `file.wait`
 * is answered by the server as soon as its copy grows, completes, is taken or goes, so a receiver
 * ahead of its sender and a sender waiting for delivery resume on the change itself. A server
 * without `file.wait` (it answers `unknown_kind`) is asked once per connection; after that a wait
 * is a pause of `fallbackMs` and the caller looks again, as before.
 */
import { FILE_WAIT_MAX_MS } from "../../protocol/messages.ts";
import { BackendError } from "../backend.ts";
import type { Connection } from "../session/connection.ts";
import type { ServerFile } from "./transfer_types.ts";

/** A file as the server has it now. */
export type FileNow = Pick<ServerFile, "have" | "size" | "state">;

/** Connections whose server does not know `file.wait`. */
const older = new WeakSet<Connection>();

/**
 * Resolves with the file once it differs from `from` (its `have` or `state`), or unchanged after
 * `ms` (at most FILE_WAIT_MAX_MS a request; the caller loops); null after a pause of `fallbackMs`
 * when the server cannot wait (the caller looks again). Rejects `no_such_file` once the file is gone.
 */
export async function fileChange(
  conn: Connection,
  fid: string,
  from: Pick<FileNow, "have" | "state">,
  ms: number,
  fallbackMs: number,
): Promise<FileNow | null> {
  if (!older.has(conn)) {
    const wait = Math.max(0, Math.min(FILE_WAIT_MAX_MS, Math.ceil(ms)));
    try {
      const r = await conn.request("file.wait", { fid, have: from.have, state: from.state, ms: wait });
      return {
        have: Number(r.header.have),
        size: Number(r.header.size),
        state: r.header.state as FileNow["state"],
      };
    } catch (e) {
      if (!(e instanceof BackendError) || e.code !== "unknown_kind") throw e;
      older.add(conn);
    }
  }
  await new Promise((r) => setTimeout(r, Math.max(0, Math.min(fallbackMs, ms))));
  return null;
}
