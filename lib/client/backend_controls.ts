/**
 * The capability objects of the `ChatBackend` contract (backend.ts `Capabilities`) other than video
 * (backend_video.ts): rooms, moderation, files and peer mode's peers, and the records they answer.
 * Types only; a backend offers each object or lacks it, and a UI asks once (`capability`).
 */
import type { ChatMessage } from "./backend_messages.ts";

export interface RoomInfo {
  name: string;
  members: string[];
  admins: string[];
  /** Open (issue 71.12): anyone may join by themself, as the server lists it (absent: closed). */
  open?: boolean;
  /** The room's public description (not encrypted), as the server lists it (absent: none). */
  description?: string;
}

/** An open room as the server lists it to anyone (issue 71.12): no member names. */
export interface OpenRoomInfo {
  name: string;
  /** How many members it has. */
  members: number;
  /** Its public description ("" when none): not encrypted, set by a room admin. */
  description: string;
  /** Whether I am a member. */
  member: boolean;
}

/** A room's topic as this client holds it: end to end, set by a member (`/topic`), the newest wins. */
export interface RoomTopic {
  text: string;
  /** Who set it. */
  by: string;
  /** When it was set (server time, ms). */
  at: number;
}

export interface KickedEntry {
  user: string;
  by: string;
  at: number;
  /** End of the ban in ms since epoch; absent for a plain kick. */
  bannedUntil?: number;
  reason?: string;
}

/** A file offered to this user (issue 12); the file key stays in the keystore. */
export interface FileOfferInfo {
  fid: string;
  from: string;
  name: string;
  size: number;
  sha256: string;
  /** The room it was offered in (every member may take it); none for a file offered to this user. */
  room?: string;
  /** The sender's identity key is verified (`/verify`); an unverified or changed key says so. */
  verified?: boolean;
  /** Its number among the offers waiting (`/accept N`), where the offer is told numbered (peer mode). */
  n?: number;
}

/**
 * An offer or a transfer as `/files` lists it; offers waiting are numbered from 1 (`/accept N`), and
 * so, on their own, are files sent that their recipient does not have yet (`/withdraw N`).
 */
export interface FileEntryInfo {
  n?: number;
  /** A file sent, not taken yet: its number for `/withdraw N`. */
  w?: number;
  fid: string;
  direction: "in" | "out";
  peer: string;
  name: string;
  size: number;
  state: string;
  /** When it was offered (received, or sent): tells apart files of the same name. */
  at?: number;
  path?: string;
  /** The file's SHA-256 (peer mode: watch together finds a copy by it). */
  sha256?: string;
}

/** Optional (files): the full-screen client's file commands (`/ls`, `/send`, `/accept`, `/reject`, `/files`). */
export interface FileControls {
  /** The outbox folder's files, numbered from 1 (`/send USER ID`). */
  outbox(): Promise<{ id: number; name: string; size: number }[]>;
  /**
   * Offers a file (an outbox id or a path) and uploads it; progress comes as "transfer" events.
   * `started` is told the file's name once it is found to be a file that can be sent (before that a
   * bad id or path is refused, and nothing was said to be sending).
   */
  send(
    user: string,
    idOrPath: string,
    started?: (name: string) => void,
  ): Promise<{ name: string; size: number; sha256: string }>;
  /** The same to every other member of a room (one upload, one offer for the room); resolves with who got it. */
  sendRoom(
    room: string,
    idOrPath: string,
    started?: (name: string) => void,
  ): Promise<{ name: string; size: number; sha256: string; to: string[] }>;
  list(): Promise<FileEntryInfo[]>;
  /**
   * Accepts waiting offer N (default: the oldest) and downloads it; resolves once saved (`room`: the
   * room it was offered in, none for a DM's file).
   */
  accept(n?: number): Promise<{ path: string; name: string; size: number; from: string; room?: string }>;
  reject(n?: number): Promise<FileEntryInfo>;
  /** The offer `/accept` without N would take, if any. */
  waiting(): Promise<number>;
  /** Optional: takes back sent file N (`w` in `list`): the recipient is told and cannot take it. */
  withdraw?(n: number): Promise<FileEntryInfo>;
}

/** Capability (rooms): named rooms and their members (`/join`, `/part`, `/room`, `/invite`). */
export interface RoomControls {
  list(): Promise<RoomInfo[]>;
  create(name: string, members: string[]): Promise<RoomInfo>;
  invite(room: string, user: string): Promise<void>;
  leave(room: string): Promise<void>;
  /** A room admin removes a member (`/room kick`); the room's keys rotate. */
  kick(room: string, user: string): Promise<void>;
  /**
   * Optional: joins an existing room the user may enter (`/join`); without it `/join` only switches.
   * A server's open room (issue 71.12): a self-join, signed into the room's log.
   */
  join?(room: string): Promise<RoomInfo>;
  /** Optional: the server's open rooms, members or not (`/list`, `room list --open`). */
  openRooms?(): Promise<OpenRoomInfo[]>;
  /**
   * Optional (room admins): opens (`open: true`) or closes a room, and/or sets its public
   * description ("" clears it); resolves with what the server now holds.
   */
  setPublic?(
    room: string,
    p: { open?: boolean; description?: string },
  ): Promise<{ open: boolean; description: string }>;
  /** Optional (end-to-end keys): the room's topic as this client holds it; null when it has none. */
  topic?(room: string): Promise<RoomTopic | null>;
  /**
   * Optional (end-to-end keys): sets the room's topic for every member ("" clears it), a setting line
   * sealed like a message of the room; resolves with that line. A member invited later gets it too.
   */
  setTopic?(room: string, text: string): Promise<ChatMessage>;
}

/** Capability (moderation): a server's admin actions; a non-admin is refused with code "forbidden". */
export interface ModerationControls {
  /** Disconnects `user`; with `banSeconds` also bans; `reason` is shown to them (and in `kicked`). */
  kick(user: string, banSeconds?: number, reason?: string): Promise<void>;
  kicked(): Promise<KickedEntry[]>;
  grant(user: string): Promise<void>;
  revoke(user: string): Promise<void>;
}

/**
 * Capability (blocks): the users this client blocked (lib/client/e2e/blocks.ts): what they send is
 * dropped unseen (they are not told), messages, files and streams to them are refused.
 */
export interface BlockControls {
  /** The names blocked, sorted. */
  list(): Promise<string[]>;
  /** Blocks `user` (a name the server holds, not oneself); the list after. */
  block(user: string): Promise<string[]>;
  /** Unblocks `user` (code "not_blocked" when it is not); the list after. */
  unblock(user: string): Promise<string[]>;
}

/**
 * (`ChatBackend.local.mutes`): the conversations muted in this client folder (`/mute`): what
 * arrives there still shows and counts as unread, but rings no bell, raises no notification and no
 * highlight. A conversation is named as lists name it: "#room", a user's name, or "*" (broadcasts).
 */
export interface MuteList {
  /** The muted conversations, sorted. */
  list(): Promise<string[]>;
  /** Mutes (`on`) or unmutes conversation `conv`; the list after. */
  set(conv: string, on: boolean): Promise<string[]>;
}

/**
 * (`ChatBackend.local.bufferOrder`): the order of the full-screen client's buffer list, kept in
 * this client folder so that buffer numbers (Alt+2, `/buffer 2`) stay across restarts. Names are
 * the buffers' keys ("#dev", "@bob"), first to last, the status buffer not among them.
 */
export interface BufferOrder {
  /** The names in order, as last saved ([] before any). */
  list(): Promise<string[]>;
  /** Keeps `names` as the order. */
  save(names: readonly string[]): Promise<void>;
}

/**
 * (`ChatBackend.local.highlights`): words or phrases besides one's name that make a room line a
 * highlight (bell, notification), kept in this client folder (`/highlight`); lower case, as listed.
 */
export interface WordList {
  /** The words, sorted. */
  list(): Promise<string[]>;
  /** Adds (`on`) or removes `word`; the list after (code "usage" for one that cannot be a highlight). */
  set(word: string, on: boolean): Promise<string[]>;
}

/**
 * Optional (`ChatBackend.away`): the reason the user is away (`/away REASON`), kept in this client and
 * never sent to the server (it is user text): whoever sends the user a direct message while it is set
 * gets it once, end to end (a sealed signal to their live devices).
 */
export interface AwayControl {
  /** The reason set here, or null. */
  readonly reason: string | null;
  /** Sets it (null or "" clears it); code "usage" for one that is not a single line of at most 300 characters. */
  set(reason: string | null): void;
}

/** Capability (peers): peer mode's own commands (`/connect`, `/peers`). */
export interface PeerControls {
  /** Dials a peer at HOST:PORT; resolves with its name. */
  connect(addr: string): Promise<string>;
  /** Every known peer. */
  list(): Promise<PeerListing[]>;
  /** Asks verified peers whom they know and connects to them; resolves with how many were asked. */
  discover(): Promise<number>;
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
