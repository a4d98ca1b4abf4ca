/**
 * The shapes the file transfer's parts share (files/transfers.ts, send.ts, room_send.ts, receive.ts):
 * a leaf, so they import it and not each other.
 */
import type { BackendEvent } from "../backend.ts";

/** A transfer's progress: the `transfer` event's fields, keyed by file id. */
export type TransferProgress = Omit<Extract<BackendEvent, { type: "transfer" }>, "type" | "id"> & {
  fid: string;
};

/** A server's view of a file (`file.list`). */
export interface ServerFile {
  fid: string;
  from: string;
  to: string;
  /** A room's file: `to` names the room. */
  room?: boolean;
  size: number;
  have: number;
  state: "uploading" | "ready" | "done";
  expires: number;
}

/** How a file goes: see `FileTransfers.send`. */
export type SendMode = "auto" | "direct" | "relay";
