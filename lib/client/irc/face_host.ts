/**
 * What mapping.ts, chan.ts and control.ts need of the IRC face (a leaf, so that face.ts, which runs
 * them, and they do not import each other in a circle): the backend, the user's names, the attached
 * clients and the two ways lines reach them. face.ts's IrcFace is the one implementation.
 */
import type { ChatBackend, ChatMessage } from "../backend.ts";
import type { IrcMessage } from "./codec.ts";
import type { IrcConn } from "./conn.ts";
import type { ReadMarkers } from "./markers.ts";

export interface FaceHost {
  readonly backend: ChatBackend;
  /** The user's nick and Parley name. */
  readonly nick: string;
  readonly account: string;
  /** The registered IRC clients attached now. */
  readonly conns: ReadonlySet<IrcConn>;
  /** How far each conversation was read (draft/read-marker). */
  readonly markers: ReadMarkers;
  /** The user read `where` up to `iso` (MARKREAD): clients and other devices told; false when not further. */
  markRead(where: string, iso: string): boolean;
  /** The nicks of the direct conversations this face saw (CHATHISTORY TARGETS, beside the channels). */
  readonly queries: ReadonlySet<string>;
  /** Lines to every attached client but `except`. */
  toAll(lines: IrcMessage[], except?: IrcConn): void;
  /** One's own text sent from client `from`: to the others, and to it with echo-message. */
  echo(from: IrcConn, m: ChatMessage): void;
  /** The state of a message changed from IRC, so the backend's event of the change shows nothing again. */
  remember(m: ChatMessage): void;
}
