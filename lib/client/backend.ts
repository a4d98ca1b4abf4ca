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
  ChangeControls,
  DeviceInfo,
  FeedControls,
  Fingerprint,
  KeyControls,
  LocalControls,
  OutboxControls,
  RemoteControls,
  TypingControl,
} from "./backend_groups.ts";
import type {
  ChangeControls,
  FeedControls,
  Fingerprint,
  KeyControls,
  LocalControls,
  OutboxControls,
  RemoteControls,
  TypingControl,
} from "./backend_groups.ts";

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
  FileControls,
  FileOfferInfo,
  ModerationControls,
  PeerControls,
  RoomControls,
  RoomInfo,
} from "./backend_controls.ts";

export type {
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
  TargetKind,
} from "./backend_messages.ts";
import type { ChatMessage, MessageChange, Role, Target } from "./backend_messages.ts";

export type Status = "busy" | "free";

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

export type BackendEvent =
  | { type: "message"; message: ChatMessage }
  /**
   * A message shown before changed (edited, deleted, a reaction): the new state, to replace it; `by`
   * made `change`, where a change received says it (e2e/apply.ts; mine is said by its maker, without).
   */
  | { type: "message.changed"; message: ChatMessage; by?: string; change?: MessageChange }
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
    /** Peer mode: the peer whose key changed (its channel refused until /trust; the script's `key-changed PEER`). */
    keyChanged?: string;
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
  /** Optional (files carried by a peer channel, files/carried.ts): the peer saved file `fid` sent to it. */
  | { type: "file.sent"; fid: string; peer: string; name: string; size: number; sha256: string }
  /** Optional (files carried by a peer channel): a file received was verified and saved at `path`. */
  | {
    type: "file.saved";
    fid: string;
    peer: string;
    path: string;
    name: string;
    size: number;
    sha256: string;
  }
  /** Optional (files carried by a peer channel): the transfer of `fid` ended without its file (`why`). */
  | { type: "file.failed"; fid: string; peer: string; direction: "up" | "down"; why: string }
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

/**
 * The capability objects a backend may offer, each grouping what one owner keeps; a UI asks once
 * whether one exists (`capability`, or `backend.changes?.react(…)`).
 */
export interface Capabilities {
  rooms: RoomControls;
  moderation: ModerationControls;
  /** The file commands: set when the client has end-to-end keys. */
  files: FileControls;
  video: VideoControls;
  peers: PeerControls;
  blocks: BlockControls;
  /** The away reason this client tells whoever sends the user a direct message (`/away REASON`). */
  away: AwayControl;
  /** Watch a server video together with a room (`/watch-together`, issue 39.7). */
  watch: WatchChannel;
  /** Edits, deletions, reactions and disappearing messages (issue 39). */
  changes: ChangeControls;
  /** One's messages until they are taken (`/outbox`). */
  outbox: OutboxControls;
  /** Following the live feed: what to show first, what was shown and read, `/info`. */
  feed: FeedControls;
  /** The typing indicator's sender. */
  typing: TypingControl;
  /** What only a server keeps for the account: history pages, users, devices, `/reconnect`. */
  remote: RemoteControls;
  /** The end-to-end keystore: `/trust`, `/inbox`. */
  keys: KeyControls;
  /** What the client folder keeps: `/search`, `/mute`, `/highlight`, the buffer order. */
  local: LocalControls;
}
export type CapabilityName = keyof Capabilities;

/** The core every backend answers (messages, presence, history, keys) and the optional capability objects. */
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
  /** History of one conversation since a time (ms since epoch), oldest first. */
  history(target: Target, since?: number): Promise<ChatMessage[]>;
  fingerprint(user?: string): Promise<Fingerprint>;
  /**
   * Verifies the key whose safety number is `number` (any grouping), or without it the key whose
   * number was last shown (refused if it changed since); resolves with the key actually pinned.
   */
  verify(user: string, number?: string): Promise<Fingerprint>;
  close(): Promise<void>;
}

/** The members of `ChatBackend`'s core, once: the compiler refuses a table that misses or adds one. */
const CORE: { [K in Exclude<keyof ChatBackend, CapabilityName>]: true } = {
  user: true,
  server: true,
  role: true,
  on: true,
  send: true,
  who: true,
  whois: true,
  setStatus: true,
  history: true,
  fingerprint: true,
  verify: true,
  close: true,
};
/** The core's members (tests/backend_shape_test.ts pins how many). */
export const CORE_MEMBERS = Object.keys(CORE) as (keyof typeof CORE)[];

/** Why a backend lacks each capability: a stable code and one sentence for the user. */
const MISSING: Record<CapabilityName, [string, string]> = {
  rooms: ["peer_mode", "Rooms needs a server; peer mode has direct messages only"],
  moderation: ["peer_mode", "Moderation needs a server; peer mode has direct messages only"],
  files: ["no_keys", "This client cannot send files (it needs end-to-end keys)"],
  video: ["unsupported", "This client cannot play or stream videos"],
  peers: ["peer_mode", "/connect and /peers work in peer mode only"],
  blocks: ["unsupported", "Blocking needs a server and end-to-end keys; this client keeps no block list"],
  away: ["unsupported", "This client cannot answer with an away reason"],
  watch: ["unsupported", "Watching together needs end-to-end keys"],
  changes: ["unsupported", "This conversation cannot change messages (no end-to-end keys)"],
  outbox: ["unsupported", "This client keeps no outbox"],
  // Without a feed the UI shows only what arrives live.
  feed: ["unsupported", "This client does not follow a feed"],
  typing: ["unsupported", "This client sends no typing indicator"],
  remote: ["unsupported", "This needs a server"],
  keys: ["no_keys", "This client has no end-to-end keys"],
  local: ["unsupported", "This client keeps no folder"],
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
