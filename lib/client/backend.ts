/**
 * The contract between the chat state (network session, encryption, local store) and any user
 * interface (the full-screen TUI, tests with a fake). The UI calls these methods and listens to
 * `BackendEvent`s; it never sees frames or sockets. Every method either resolves or rejects with a
 * `BackendError` whose `code` is stable and whose `message` is one clear sentence for the user.
 */

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
  /** When its sender last edited it (ms); its earlier texts: `ChatBackend.editsOf`. */
  edited?: number;
  /** Deleted for everyone by its sender: `text` is empty and gone from the stores. */
  deleted?: boolean;
  /** Reactions: emoji → the users who reacted with it, in the order they did. */
  reactions?: Record<string, string[]>;
  /** Disappearing messages (issue 39.5): when it is deleted from every store (ms). */
  expires?: number;
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

export interface RoomInfo {
  name: string;
  members: string[];
  admins: string[];
}

export interface KickedEntry {
  user: string;
  by: string;
  at: number;
  /** End of the ban in ms since epoch; absent for a plain kick. */
  bannedUntil?: number;
  reason?: string;
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

export type VideoRendition = "240p" | "720p" | "1080p";

/** A video in the server's library. */
export interface VideoListing {
  name: string;
  /** Seconds. */
  duration: number;
  fps: number;
  width: number;
  height: number;
  renditions: VideoRendition[];
}

/** One JPEG frame to draw (from the server's library or a user's stream, already decrypted). */
export interface VideoFrameData {
  /** Presentation time, ms. */
  pts: number;
  index: number;
  rendition: VideoRendition;
  /** What the overlay calls the picture instead of `rendition` (a user's stream: its offered size, "720p"). */
  shownAs?: string;
  width: number;
  height: number;
  /** The frame: a JPEG, or raw RGB24 rows (width × height × 3 bytes) when `format` is "rgb". */
  data: Uint8Array;
  format?: "jpeg" | "rgb";
  /** Bytes that came for it when that is not `data.length` (a raw frame rebuilt from a delta). */
  bytes?: number;
}

/**
 * A playing video as the UI sees it: frames to draw (newest first; `next()` resolves null at the
 * end) and controls. Optional controls exist only where they make sense (a stream cannot seek).
 */
export interface VideoHandle {
  next(): Promise<VideoFrameData | null>;
  /** Frames skipped before anyone drew them. */
  readonly dropped: number;
  /** Frames received per rendition (server playback), for the end line. */
  readonly perRendition?: Readonly<Record<string, number>>;
  stop(): Promise<void>;
  pause?(): Promise<void>;
  resume?(): Promise<void>;
  seek?(ms: number): Promise<void>;
  /** The drawing area changed size (pixels): the server rescales. */
  setPane?(width: number, height: number): Promise<void>;
  /**
   * What the player drew lately (frames per second) and the fraction of the time decoding and
   * drawing kept it busy; a server playback passes it on so adaptive mode sees local drops.
   */
  report?(fps: number, load: number): void;
  /**
   * Ms ahead of their presentation time that frames may arrive (a server playback that granted a
   * lead): the player then shows each frame at its time instead of on arrival. 0 or absent: on arrival.
   */
  readonly lead?: number;
  /** Ms of frames held beyond the lead (a paced player that started late shows the next one sooner). */
  readonly backlog?: number;
  /** How small frames come ("rgb": raw, nothing to decode); absent: JPEG. */
  readonly format?: "jpeg" | "rgb";
}

export interface PlayVideoOptions {
  mode?: "adaptive" | "thirds";
  /** Drawing area in pixels (the server scales frames to fit). */
  width?: number;
  height?: number;
  /** Ask the server to send frames up to this many ms early (see `VideoHandle.lead`). */
  lead?: number;
  /** How small (half-block) frames should come: raw RGB, JPEG, or "auto" (raw over a local network). */
  format?: "jpeg" | "rgb" | "auto";
  /** Start position, ms (a late joiner of watch together starts where the others are). */
  start?: number;
}

/**
 * Optional (watch together, issue 39.7): what a room's shared viewing needs besides the "signal"
 * events (video/watch_room.ts); set when the client has end-to-end keys.
 */
export interface WatchChannel {
  /** Seals `payload(mid)` for the members of `room` (end to end) and relays it to their live sessions. */
  signal(room: string, payload: (mid: string) => Uint8Array): Promise<void>;
  /** The room's admins as its signed membership log says (who may play, pause and seek). */
  roomAdmins(room: string): Promise<string[]>;
  /** The server's clock, ms (one round trip; `ClockOffset` keeps the quickest). */
  serverTime(): Promise<number>;
}

/** A user's offer to stream a video to this user. */
export interface StreamOfferInfo {
  sid: string;
  from: string;
  name: string;
  fps?: number;
  width?: number;
  height?: number;
}

/** A file offered to this user (issue 12); the file key stays in the keystore. */
export interface FileOfferInfo {
  fid: string;
  from: string;
  name: string;
  size: number;
  sha256: string;
  /** The sender's identity key is verified (`/verify`); an unverified or changed key says so. */
  verified?: boolean;
}

/** An offer or a transfer as `/files` lists it; offers waiting are numbered from 1 (`/accept N`). */
export interface FileEntryInfo {
  n?: number;
  fid: string;
  direction: "in" | "out";
  peer: string;
  name: string;
  size: number;
  state: string;
  path?: string;
}

/** Optional (files): the full-screen client's file commands (`/ls`, `/send`, `/accept`, `/reject`, `/files`). */
export interface FileControls {
  /** The outbox folder's files, numbered from 1 (`/send USER ID`). */
  outbox(): Promise<{ id: number; name: string; size: number }[]>;
  /** Offers a file (an outbox id or a path) and uploads it; progress comes as "transfer" events. */
  send(user: string, idOrPath: string): Promise<{ name: string; size: number; sha256: string }>;
  /** The same to every other member of a room (one transfer each); resolves with who got an offer. */
  sendRoom(
    room: string,
    idOrPath: string,
  ): Promise<{ name: string; size: number; sha256: string; to: string[] }>;
  list(): Promise<FileEntryInfo[]>;
  /** Accepts waiting offer N (default: the oldest) and downloads it; resolves once saved. */
  accept(n?: number): Promise<{ path: string; name: string; size: number; from: string }>;
  reject(n?: number): Promise<FileEntryInfo>;
  /** The offer `/accept` without N would take, if any. */
  waiting(): Promise<number>;
}

/** How an outgoing stream ended. */
export interface StreamSendResult {
  sent: number;
  relayed: number;
  /** Source frames that never reached the recipient (skipped by the sender's slot or by the relay). */
  dropped: number;
  reason: "end" | "stopped" | "refused" | "disconnected";
  by?: string;
}

/**
 * An outgoing stream: `offered` resolves once the file was read as a video and offered (it never
 * resolves when that failed: `done` rejects), `accepted` when the recipient answers, `done` at the end.
 */
export interface OutgoingStream {
  readonly offered?: Promise<void>;
  readonly accepted: Promise<boolean>;
  readonly done: Promise<StreamSendResult>;
  stop(): void;
}

export type BackendEvent =
  | { type: "message"; message: ChatMessage }
  /** A message shown before changed (edited, deleted, a reaction): the new state, to replace it. */
  | { type: "message.changed"; message: ChatMessage }
  /** Disappearing messages whose time is up: gone from the local history; take them off the screen. */
  | { type: "messages.expired"; mids: string[] }
  | { type: "presence"; user: string; online: boolean; presence?: Presence }
  | { type: "room"; room: RoomInfo; change: "created" | "joined" | "left" | "updated"; by?: string }
  | { type: "notice"; text: string; level: "info" | "warn" | "error" }
  /** The connection ended: kicked, banned, server shutdown or network loss. */
  | { type: "disconnected"; reason: string; code: string; until?: number }
  /** Live state from the server: one's role changed (commands lock or unlock at once). */
  | { type: "role"; role: Role }
  | { type: "connection"; state: "connecting" | "online" | "offline" }
  | { type: "encryption"; state: "on" | "off" | "warning"; detail?: string }
  /** Optional (TUI status line): someone is typing in a conversation; `active: false` when they stop. */
  | { type: "typing"; from: string; to: Target; active: boolean }
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
  }
  /** Optional (files): a user offered a file end to end; it waits in the keystore until accepted. */
  | { type: "file.offer"; offer: FileOfferInfo }
  /** Optional (video): a user offers to stream a video to this user; answer with `acceptStream`. */
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

export interface ChatBackend {
  readonly user: string;
  /** `host:port` of the server. */
  readonly server: string;
  readonly role: Role;
  /** Subscribes to events; returns an unsubscribe function. */
  on(listener: (e: BackendEvent) => void): () => void;

  /** `replyTo`: the id of the message this one answers (issue 39.1). */
  send(target: Target, text: string, o?: { replyTo?: string }): Promise<ChatMessage>;
  /** Optional (issue 39): edits or deletes one's own message, or reacts; the new state. */
  changeMessage?(ref: string, c: MessageChange): Promise<ChatMessage>;
  /** Optional (issue 39): toggles one's reaction `emoji` on message `ref`. */
  react?(ref: string, emoji: string): Promise<ChatMessage>;
  /** Optional (issue 39.2): the earlier texts of message `ref`, oldest first, each with when it was replaced. */
  editsOf?(ref: string): Promise<{ at: number; text: string }[]>;
  /** Optional (issue 39.5): messages in `target` disappear `seconds` after they are sent (0: off). */
  setExpiry?(target: Target, seconds: number): Promise<ChatMessage>;
  who(): Promise<Presence[]>;
  whois(user: string): Promise<Presence | null>;
  setStatus(status: Status): Promise<void>;
  /** History of one conversation since a time (ms since epoch), oldest first. */
  history(target: Target, since?: number): Promise<ChatMessage[]>;
  rooms(): Promise<RoomInfo[]>;
  createRoom(name: string, members: string[]): Promise<RoomInfo>;
  invite(room: string, user: string): Promise<void>;
  leave(room: string): Promise<void>;
  /** Disconnects `user`; with `banSeconds` also bans; `reason` is shown to them (and in `kicked`). */
  kick(user: string, banSeconds?: number, reason?: string): Promise<void>;
  kicked(): Promise<KickedEntry[]>;
  grant(user: string): Promise<void>;
  revoke(user: string): Promise<void>;
  fingerprint(user?: string): Promise<Fingerprint>;
  /**
   * Verifies the key whose safety number is `number` (any grouping), or without it the key whose
   * number was last shown (refused if it changed since); resolves with the key actually pinned.
   */
  verify(user: string, number?: string): Promise<Fingerprint>;
  close(): Promise<void>;
  /**
   * Optional: starts the live feed once the UI listens, and resolves with what to show first.
   * Without it the UI shows only what arrives live.
   */
  catchUp?(): Promise<CatchUp>;
  /** Optional: the UI has shown these messages (at the next start they are history, not new). */
  markSeen?(messages: ChatMessage[]): void;
  /** Optional: how many of one's messages wait in the outbox. */
  pendingCount?(): number;
  /** Optional: one's messages in the outbox, waiting or failed (`/outbox`). */
  outbox?(): Promise<OutboxEntry[]>;
  /** Optional: removes outbox entry `n` (`/outbox drop N`); resolves with it, or null when there is none. */
  dropOutbox?(n: number): Promise<OutboxEntry | null>;
  /** Optional: what `/info` shows — label and value pairs (server, device, connection, queues, versions). */
  info?(): [string, string][];
  /** Optional: drops the connection (if any) and connects again now (`/reconnect`). */
  reconnectNow?(): void;
  /** Optional: joins an existing room the user may enter (`/join`); without it `/join` only switches. */
  join?(room: string): Promise<RoomInfo>;
  /** Optional: every registered user and their role (Tab completes offline users; `/changegrant`). */
  users?(): Promise<{ user: string; role: Role }[]>;
  /** Optional: messages queued while offline, all or from one user (`/inbox`). */
  inbox?(user?: string): Promise<ChatMessage[]>;
  /** Optional: tells the peer(s) of a conversation that the user is (or stopped) typing. */
  typing?(target: Target, active: boolean): void;
  /** Optional: accepts a contact's changed identity key without verifying it (`/trust`). */
  trust?(user: string, number?: string): Promise<Fingerprint>;
  /** Optional: a room admin removes a member (`/kick` in a room); the room's keys rotate. */
  roomKick?(room: string, user: string): Promise<void>;
  /** Optional (files): the file commands; set when the client has end-to-end keys. */
  files?: FileControls;
  /** Optional (video): the server's video library (`/videos`). */
  videos?(): Promise<VideoListing[]>;
  /** Optional (video): plays a library video (`/play`); frames come through the handle. */
  playVideo?(name: string, opts?: PlayVideoOptions): Promise<VideoHandle>;
  /** Optional (video): offers a local video file to a user (`/stream`); frames flow once accepted. */
  offerStream?(user: string, file: string): OutgoingStream;
  /** Optional (video): accepts an offered stream; its frames are decrypted end to end. */
  acceptStream?(
    sid: string,
  ): Promise<VideoHandle & { readonly ended: Promise<{ reason: string; by: string }> }>;
  /** Optional (video): refuses an offered stream. */
  refuseStream?(sid: string): Promise<void>;
  /** Optional (video): watch a server video together with a room (`/watch-together`). */
  watch?: WatchChannel;
  /** Optional (peer mode): dials a peer at HOST:PORT (`/connect`); resolves with its name. */
  connectPeer?(addr: string): Promise<string>;
  /** Optional (peer mode): every known peer (`/peers`). */
  peerList?(): Promise<PeerListing[]>;
  /** Optional (peer mode): asks verified peers whom they know and connects to them; resolves with how many were asked. */
  discoverPeers?(): Promise<number>;
}

/** A peer as `/peers` shows it (peer mode). */
export interface PeerListing {
  name: string;
  /** last address it listened on */
  addr?: string;
  verified: boolean;
  online: boolean;
  /** its identity key changed and waits for /verify or /trust */
  changed: boolean;
}
