/**
 * The capability objects of the `ChatBackend` contract (backend.ts `Capabilities`) that the
 * conversation core and peer mode own (the others: backend_controls.ts, backend_video.ts). Each
 * groups the members whose state one owner keeps, so a backend offers the whole object or none and
 * a surface asks once. Types only.
 */
import type { BufferOrder, MuteList, WordList } from "./backend_controls.ts";
import type {
  CatchUp,
  ChatMessage,
  HistoryPage,
  HistoryQuery,
  MessageChange,
  OutboxEntry,
  Role,
  SearchQuery,
  SearchResult,
  Target,
} from "./backend_messages.ts";

/** Message changes (issue 39): edits, deletions, reactions, disappearing messages; the keeper of changes owns them. */
export interface ChangeControls {
  /** Edits or deletes one's own message, or reacts; the new state. */
  changeMessage(ref: string, c: MessageChange): Promise<ChatMessage>;
  /** Toggles one's reaction `emoji` on message `ref`. */
  react(ref: string, emoji: string): Promise<ChatMessage>;
  /** The earlier texts of message `ref`, oldest first, each with when it was replaced (issue 39.2). */
  editsOf(ref: string): Promise<{ at: number; text: string }[]>;
  /** Messages in `target` disappear `seconds` after they are sent (0: off; issue 39.5). */
  setExpiry(target: Target, seconds: number): Promise<ChatMessage>;
  /** How long after they are sent messages in `target` disappear, in seconds (0: never). */
  expiry(target: Target): Promise<number>;
}

/** One's messages until they are taken (`/outbox`); the outbox owns them. */
export interface OutboxControls {
  /** How many wait. */
  count(): number;
  /** Waiting or failed, in order. */
  list(): Promise<OutboxEntry[]>;
  /** Removes entry `n` (`/outbox drop N`); resolves with it, or null when there is none. */
  drop(n: number): Promise<OutboxEntry | null>;
}

/** Following the live feed and what the screen showed of it, owned by the session that follows it. */
export interface FeedControls {
  /** Starts the live feed once the UI listens, and resolves with what to show first (without it: only what arrives live). */
  catchUp(): Promise<CatchUp>;
  /** The UI has shown these messages (at the next start they are history, not new). */
  markSeen(messages: ChatMessage[]): void;
  /** The user read conversation `target` up to seq `upTo` (on screen): their other devices are told (if any). */
  read(target: Target, upTo: number): void;
  /** What `/info` shows — label and value pairs (server, device, connection, queues, versions). */
  info(): [string, string][];
}

/** The typing indicator's sender: tells the peer(s) of a conversation that the user is (or stopped) typing. */
export interface TypingControl {
  set(target: Target, active: boolean): void;
}

/** What only a server keeps for the account: its history pages, registered users, devices, and the connection to it. */
export interface RemoteControls {
  /** One page of a conversation's history on the server, before a seq (issue 68; core/history_pages.ts reads every page). */
  historyPage(target: Target, q?: HistoryQuery): Promise<HistoryPage>;
  /** Every registered user and their role (Tab completes offline users; `/changegrant`). */
  users(): Promise<{ user: string; role: Role }[]>;
  /** This account's devices, each with its key's fingerprint, and which one this client is. */
  devices(): Promise<DeviceInfo[]>;
  /** Drops the connection (if any) and connects again now (`/reconnect`). */
  reconnectNow(): void;
}

/** The end-to-end keystore: contacts' keys and the messages it keeps. */
export interface KeyControls {
  /** Accepts a contact's changed identity key without verifying it (`/trust`). */
  trust(user: string, number?: string): Promise<Fingerprint>;
  /** Messages queued while offline, all or from one user (`/inbox`). */
  inbox(user?: string): Promise<ChatMessage[]>;
}

/** What this client folder keeps: its messages to search, mutes, highlight words and the buffer order. */
export interface LocalControls {
  /** The messages this client keeps whose text holds every word of `q.text` (`/search`). */
  search(q: SearchQuery): Promise<SearchResult>;
  /** The conversations muted (`/mute`). */
  mutes: MuteList;
  /** The words that highlight a line besides one's name (`/highlight`). */
  highlights: WordList;
  /** The buffer list's order (buffer numbers stay across restarts). */
  bufferOrder: BufferOrder;
}

/** The safety numbers to compare with a contact (`/fingerprint`), in both modes (e2e/keys.ts `showKeyNumbers`). */
export interface Fingerprint {
  /** The contact (or oneself: then the number is one's own half). */
  user: string;
  /** 60-digit safety number in groups of five, or null when unknown. */
  safetyNumber: string | null;
  /** Whether the key pinned was verified by comparing numbers. */
  verified: boolean;
  /** True when the contact's key changed since first use and sending is blocked. */
  changed: boolean;
  /** Safety numbers of further new keys presented under the same name (none is bound: compare again). */
  others?: string[];
}

/** One device of the user's account (the IRC face's `devices`; `parley device list` prints the same rows). */
export interface DeviceInfo {
  device: number;
  name: string;
  /** When it was added (ms since epoch). */
  created: number;
  /** The device this client is. */
  current: boolean;
  /** The SHA-256 of its device key as the server holds it, hex in groups of four; null before it has one. */
  fingerprint: string | null;
}
