/**
 * The message half of the `ChatBackend` contract (backend.ts): where a message goes, a message as
 * the UI sees it, a change of one already sent, the outbox and what a screen shows at start. Types only.
 */

/** A user's role on the server. */
export type Role = "user" | "admin";

export type TargetKind = "user" | "room" | "broadcast";

/** Where a message goes: a user (DM), a room by name (no leading `#`), or everyone. */
export interface Target {
  kind: TargetKind;
  /** User or room name; absent for broadcast. */
  name?: string;
}

export interface ChatMessage {
  /** Server sequence number, unique and increasing across the server. */
  seq: number;
  /** Unique message id chosen by the sender. */
  mid: string;
  /** Milliseconds since the epoch, server time. */
  ts: number;
  from: string;
  to: Target;
  /** Decrypted text (untrusted: may hold escape sequences; the UI must neutralise them). */
  text: string;
  /** True when it came from the offline queue or history rather than live. */
  replay?: boolean;
  /** True for one's own text kept in the local outbox, not confirmed by the server yet (seq is 0). */
  pending?: boolean;
  /** One's own text the server can never take (too large, malformed): why; it stays in the outbox, unsent. */
  failed?: string;
  /** The id of the message this one answers (issue 39.1). */
  replyTo?: string;
  /** The sender of the message this one answers, when the reply names it (issue 69 N2: ids are per sender). */
  replyBy?: string;
  /** When its sender last edited it (ms); its earlier texts: `ChatBackend.changes.editsOf`. */
  edited?: number;
  /**
   * A conversation's setting line (its disappearing time, issue 39.5), not a text: `text` is made
   * from the setting here; it cannot be edited, deleted or reacted to.
   */
  setting?: true;
  /** A topic's setting line as it arrives or is sent (`RoomControls.setTopic`): the room's new topic ("" cleared). */
  topic?: string;
  /** Deleted for everyone by its sender: `text` is empty and gone from the stores. */
  deleted?: boolean;
  /** Reactions: emoji → the users who reacted with it, in the order they did. */
  reactions?: Record<string, string[]>;
  /** Disappearing messages (issue 39.5): when it is deleted from every store (ms). */
  expires?: number;
  /**
   * The time its sender sealed in it (ms, the sender's clock; issue 69 N4): its edit window starts
   * there, not at the server's `ts` (e2e/changes.ts `editTooLate`). None from a client before 0.21.
   */
  sentAt?: number;
}

/** A change of a message already sent (issue 39): its sender edits or deletes it; anyone reacts. */
export type MessageChange =
  | { kind: "edit"; text: string }
  | { kind: "delete" }
  | { kind: "react"; emoji: string; on: boolean };

/** One's own message in the outbox (`/outbox`): `n` numbers it for `/outbox drop N`; `failed` says why it never goes. */
export interface OutboxEntry {
  n: number;
  mid: string;
  ts: number;
  to: Target;
  text: string;
  failed?: string;
  /**
   * Not a text (peer mode, issue 39): a change or setting (`change`) or a file offer (`file`) that
   * waits for its peer, `text` saying what it is. Numbered with the texts; dropping a change leaves
   * its effect here (the peer never gets it), dropping a file offer withdraws it.
   */
  kind?: "change" | "file";
}

/** What the full-screen client shows at start: history, what arrived while away, the outbox. */
export interface CatchUp {
  /** The latest shown messages of each conversation (local history), oldest first. */
  recent: ChatMessage[];
  /** Messages that arrived while no screen showed them, oldest first. */
  unseen: ChatMessage[];
  /** One's own messages still waiting to be sent. */
  pending: ChatMessage[];
}

/** A search of the messages this client keeps (`search`, `/search`; local_store_search.ts). */
export interface SearchQuery {
  /** Words that must all appear in a message's text. */
  text: string;
  /** Only this conversation (seen from the searcher). */
  filter?: Target;
  /** Only messages at or after this time (ms since epoch). */
  since?: number;
  /** At most this many matches, the newest. */
  limit: number;
}

export interface SearchResult {
  /** The newest matches, oldest first. */
  matches: ChatMessage[];
  /** Messages looked at. */
  searched: number;
  /** Whether older matches were left out (the limit). */
  more: boolean;
  /** The time of the oldest message this folder keeps (undefined: none). */
  oldest?: number;
}

/** Which page of a conversation's history to ask the server for (issue 68). */
export interface HistoryQuery {
  /** Only messages at or after this time (ms since epoch). */
  since?: number;
  /** Only messages with a lower seq: the page before the oldest one held. */
  before?: number;
  /** At most this many on a page (the server's own cap still holds). */
  limit?: number;
}

/** One page of a conversation's history on the server: what this client could open of it. */
export interface HistoryPage {
  /** The messages opened, oldest first. */
  messages: ChatMessage[];
  /** How many the server sent (opened, taken as control messages, or not opened). */
  count: number;
  /** The lowest seq the server sent (the next page is asked before it); null when it sent none. */
  oldest: number | null;
  /** How many could not be opened with this client's keys (each also said as an error notice). */
  unreadable: number;
}
