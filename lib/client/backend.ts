/**
 * The contract between the chat state (network session, encryption, local store) and any user
 * interface (the full-screen TUI, tests with a fake). The UI calls these methods and listens to
 * `BackendEvent`s; it never sees frames or sockets. Every method either resolves or rejects with a
 * `BackendError` whose `code` is stable and whose `message` is one clear sentence for the user.
 */

export type {
  IncomingVideo,
  OutgoingStream,
  PlayVideoOptions,
  StreamOfferInfo,
  StreamSendResult,
  VideoControls,
  VideoFrameData,
  VideoHandle,
  VideoListing,
  VideoRendition,
  WatchChannel,
} from "./backend_video.ts";
import type { StreamOfferInfo, VideoControls, WatchChannel } from "./backend_video.ts";

export type {
  AwayControl,
  BlockControls,
  BufferOrder,
  FileControls,
  FileEntryInfo,
  FileOfferInfo,
  KickedEntry,
  ModerationControls,
  MuteList,
  OpenRoomInfo,
  PeerControls,
  PeerListing,
  RoomControls,
  RoomInfo,
  RoomTopic,
  WordList,
} from "./backend_controls.ts";
import type {
  AwayControl,
  BlockControls,
  BufferOrder,
  FileControls,
  FileOfferInfo,
  ModerationControls,
  MuteList,
  PeerControls,
  RoomControls,
  RoomInfo,
  WordList,
} from "./backend_controls.ts";

export type {
  CatchUp,
  ChatMessage,
  HistoryPage,
  HistoryQuery,
  MessageChange,
  OutboxEntry,
  SearchQuery,
  SearchResult,
  Target,
  TargetKind,
} from "./backend_messages.ts";
import type {
  CatchUp,
  ChatMessage,
  HistoryPage,
  HistoryQuery,
  MessageChange,
  OutboxEntry,
  SearchQuery,
  SearchResult,
  Target,
} from "./backend_messages.ts";

export type Status = "busy" | "free";
export type Role = "user" | "admin";

export interface Presence {
  user: string;
  /** Peer address as the server saw it, `host:port`. */
  addr: string;
  /** When the user's current session started (ms since epoch). */
  since: number;
  status: Status;
  role: Role;
  /** The server node the user is on, when the server is one of several (issue 16). */
  node?: string;
}

export interface Fingerprint {
  user: string;
  /** 60-digit safety number in groups of five, or null when unknown. */
  safetyNumber: string | null;
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

export type BackendEvent =
  | { type: "message"; message: ChatMessage }
  /** A message shown before changed (edited, deleted, a reaction): the new state, to replace it. */
  | { type: "message.changed"; message: ChatMessage }
  /** Disappearing messages whose time is up: gone from the local history; take them off the screen. */
  | { type: "messages.expired"; mids: string[] }
  | { type: "presence"; user: string; online: boolean; presence?: Presence }
  | {
    type: "room";
    room: RoomInfo;
    change: "created" | "joined" | "left" | "kicked" | "updated";
    /** Who made the change. */
    by?: string;
    /** Who joined, left or was removed. */
    user?: string;
  }
  | {
    type: "notice";
    text: string;
    level: "info" | "warn" | "error";
    /** A stored message this client could not open (the notice says why): which (issue 68, `read --all`). */
    unreadable?: { seq: number; from: string; to: Target };
  }
  /** The connection ended: kicked, banned, server shutdown or network loss. */
  | { type: "disconnected"; reason: string; code: string; until?: number }
  /** Live state from the server: one's role changed (commands lock or unlock at once). */
  | { type: "role"; role: Role }
  | { type: "connection"; state: "connecting" | "online" | "offline" }
  | { type: "encryption"; state: "on" | "off" | "warning"; detail?: string }
  /** Optional (TUI status line): someone is typing in a conversation; `active: false` when they stop. */
  | { type: "typing"; from: string; to: Target; active: boolean }
  /** Optional: `from` is away and says why, in answer to a direct message (core/away.ts). */
  | { type: "away"; from: string; text: string }
  /** Optional: a sealed room signal of a control kind the core does not know (video/watch_room.ts). */
  | { type: "signal"; from: string; to: Target; mid: string; plaintext: Uint8Array }
  /** Optional (TUI status line): progress of a file transfer; `state` ends at "done" or "failed". */
  | {
    type: "transfer";
    id: string;
    name: string;
    peer: string;
    direction: "up" | "down";
    done: number;
    total: number;
    state: "active" | "done" | "failed";
    /** A room's file (one upload for its members): its line goes in that room, not a DM with `peer`. */
    room?: string;
  }
  /** Optional: another device of mine showed conversation `target` up to seq `upTo` (e2e/seen_sync.ts). */
  | { type: "seen"; target: Target; upTo: number }
  /** Optional (files): a user offered a file end to end; it waits in the keystore until accepted. */
  | { type: "file.offer"; offer: FileOfferInfo }
  /** Optional (files): the sender of accepted offer `fid` waits to send it straight: take it now. */
  | { type: "file.again"; fid: string; from: string }
  /** Optional (files): the sender took back file `fid` offered to this user (or in `room`). */
  | { type: "file.withdrawn"; fid: string; from: string; name: string; room?: string }
  /** Optional (video): a user offers to stream a video to this user; answer with `video.accept`. */
  | { type: "stream.offer"; offer: StreamOfferInfo }
  /** Optional (video): a pending offer was withdrawn before it was answered. */
  | { type: "stream.withdrawn"; sid: string; from: string; by: string };

export class BackendError extends Error {
  /**
   * `until`: the end of a ban or lockout (ms since epoch) when the server gave one; `detail`: other
   * fields of the server's answer (e.g. `devices` of a `devices_changed` refusal).
   */
  constructor(
    readonly code: string,
    message: string,
    readonly until?: number,
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "BackendError";
  }
}

/** The capability objects a backend may offer; a UI asks once whether one exists (`capability`). */
/**
 * Changes to messages already sent (issue 39), one owner's: edits and deletions by their sender,
 * reactions, the earlier texts of an edited message, a conversation's disappearing time.
 */
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

/** One's messages until the other side takes them (the folder's outbox: `/outbox`, `/quit`'s count). */
export interface OutboxControls {
  /** How many of one's messages wait in the outbox. */
  count(): number;
  /** One's messages in the outbox, waiting or failed (`/outbox`). */
  list(): Promise<OutboxEntry[]>;
  /** Removes outbox entry `n` (`/outbox drop N`); resolves with it, or null when there is none. */
  drop(n: number): Promise<OutboxEntry | null>;
}

/** Following the feed (a UI's): what to show first, what was shown, what the user read. */
export interface FeedControls {
  /** Starts the live feed once the UI listens, and resolves with what to show first. */
  catchUp(): Promise<CatchUp>;
  /** The UI has shown these messages (at the next start they are history, not new). */
  markSeen(messages: ChatMessage[]): void;
  /** The user read conversation `target` up to seq `upTo` (on screen): their other devices are told. */
  read(target: Target, upTo: number): void;
}

export interface Capabilities {
  rooms: RoomControls;
  moderation: ModerationControls;
  /** The file commands and the block list (`blocks`): set when the client has end-to-end keys. */
  files: FileControls;
  video: VideoControls;
  peers: PeerControls;
  blocks: BlockControls;
  changes: ChangeControls;
  outbox: OutboxControls;
  feed: FeedControls;
}
export type CapabilityName = keyof Capabilities;

/**
 * The small core every backend answers (messages, presence, history, keys), optional behaviours,
 * and the optional capability objects of `Capabilities`.
 */
export interface ChatBackend extends Partial<Capabilities> {
  readonly user: string;
  /** `host:port` of the server (peer mode: where it listens). */
  readonly server: string;
  readonly role: Role;
  /** Subscribes to events; returns an unsubscribe function. */
  on(listener: (e: BackendEvent) => void): () => void;

  /**
   * Sends, or queues: resolves with the message, stored (`seq` > 0) or not confirmed yet (seq 0,
   * `pending` while it waits in the outbox; a "message" event with the same mid and its seq follows
   * once it is taken). `replyTo`: the id of the message this one answers (issue 39.1).
   */
  send(target: Target, text: string, o?: { replyTo?: string }): Promise<ChatMessage>;
  who(): Promise<Presence[]>;
  /** Presence of a user (null: offline); a name nobody holds is refused with code "no_such_user". */
  whois(user: string): Promise<Presence | null>;
  setStatus(status: Status): Promise<void>;
  /** Optional: the away reason this client tells whoever sends the user a direct message (`/away REASON`). */
  readonly away?: AwayControl;
  /** History of one conversation since a time (ms since epoch), oldest first. */
  history(target: Target, since?: number): Promise<ChatMessage[]>;
  /** Optional (issue 68): one page of it on the server, before a seq; core/history_pages.ts reads every page. */
  historyPage?(target: Target, q?: HistoryQuery): Promise<HistoryPage>;
  fingerprint(user?: string): Promise<Fingerprint>;
  /** Optional: this account's devices, each with its key's fingerprint, and which one this client is. */
  devices?(): Promise<DeviceInfo[]>;
  /**
   * Verifies the key whose safety number is `number` (any grouping), or without it the key whose
   * number was last shown (refused if it changed since); resolves with the key actually pinned.
   */
  verify(user: string, number?: string): Promise<Fingerprint>;
  close(): Promise<void>;
  /** Optional (video, issue 39.7): watch a server video together with a room (`/watch-together`). */
  watch?: WatchChannel;
  /** Optional: what `/info` shows — label and value pairs (server, device, connection, queues, versions). */
  info?(): [string, string][];
  /** Optional: drops the connection (if any) and connects again now (`/reconnect`). */
  reconnectNow?(): void;
  /** Optional: every registered user and their role (Tab completes offline users; `/changegrant`). */
  users?(): Promise<{ user: string; role: Role }[]>;
  /** Optional: messages queued while offline, all or from one user (`/inbox`). */
  inbox?(user?: string): Promise<ChatMessage[]>;
  /** Optional: tells the peer(s) of a conversation that the user is (or stopped) typing. */
  typing?(target: Target, active: boolean): void;
  /** Optional: accepts a contact's changed identity key without verifying it (`/trust`). */
  trust?(user: string, number?: string): Promise<Fingerprint>;
  /** Optional: the messages this client keeps whose text holds every word of `q.text` (`/search`). */
  search?(q: SearchQuery): Promise<SearchResult>;
  /** Optional: the conversations muted in this client folder (`/mute`). */
  mutes?: MuteList;
  /** Optional: the words that highlight a line besides one's name, kept in this client folder (`/highlight`). */
  highlights?: WordList;
  /** Optional: the buffer list's order, kept in this client folder (buffer numbers stay across restarts). */
  bufferOrder?: BufferOrder;
}

/** Why a backend lacks each capability: a stable code and one sentence for the user. */
const MISSING: Record<CapabilityName, [string, string]> = {
  rooms: ["peer_mode", "Rooms needs a server; peer mode has direct messages only"],
  moderation: ["peer_mode", "Moderation needs a server; peer mode has direct messages only"],
  files: ["no_keys", "This client cannot send files (it needs end-to-end keys)"],
  video: ["unsupported", "This client cannot play or stream videos"],
  peers: ["peer_mode", "/connect and /peers work in peer mode only"],
  blocks: ["unsupported", "Blocking needs a server and end-to-end keys; this client keeps no block list"],
  changes: ["unsupported", "This conversation cannot change messages (no end-to-end keys)"],
  outbox: ["unsupported", "This client keeps no outbox"],
  // Without a feed the UI shows only what arrives live.
  feed: ["unsupported", "This client does not follow a feed"],
};
/** The capability objects, in the order of `Capabilities`. */
export const CAPABILITIES = Object.keys(MISSING) as CapabilityName[];

/** The capability `name` of `b`, or the refusal saying it is missing: the one place a UI asks whether one exists. */
export function capability<K extends CapabilityName>(b: ChatBackend, name: K): Capabilities[K] {
  const c = b[name];
  if (c) return c as Capabilities[K];
  throw missing(name);
}

/** The refusal of a backend without capability `name`. */
export function missing(name: CapabilityName): BackendError {
  const [code, text] = MISSING[name];
  return new BackendError(code, text);
}
