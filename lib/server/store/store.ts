/**
 * The server's persistence contract. Every implementation (SQLite now, Postgres later) passes
 * the shared suite in `conformance.ts`. Message bodies are opaque bytes: a store saves and returns
 * them, never interprets them. Methods are async so that network-backed stores fit; the SQLite
 * one answers synchronously inside the promise.
 */

export type Role = "user" | "admin";
export type TargetKind = "user" | "room" | "broadcast";

export interface UserRow {
  name: string;
  hash: string;
  role: Role;
  createdAt: number;
  /** Highest message seq at registration: broadcasts after it are delivered. */
  createdSeq: number;
  failed: number;
  lockedUntil: number;
  lockouts: number;
  /** When the last failed login was counted (ms; 0: never). */
  failedAt: number;
}

export interface NewMessage {
  mid: string;
  sender: string;
  kind: TargetKind;
  /** User or room name; "" for broadcast. */
  target: string;
  conv: string;
  ts: number;
  body: Uint8Array;
}

export interface StoredMessage extends NewMessage {
  seq: number;
}

export interface RoomMember {
  user: string;
  sinceSeq: number;
  admin: boolean;
}

export interface RoomRow {
  name: string;
  createdBy: string;
  createdAt: number;
  members: RoomMember[];
}

export interface KickRow {
  user: string;
  by: string;
  at: number;
  bannedUntil: number | null;
  reason: string | null;
}

export interface AuditRow {
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

export interface KeyBundleRow {
  identity: string;
  spk: string;
  opk: string | null;
}

export interface Store {
  // accounts
  createUser(u: { name: string; hash: string; role: Role; createdAt: number }): Promise<boolean>;
  getUser(name: string): Promise<UserRow | null>;
  listUsers(): Promise<UserRow[]>;
  setLoginState(
    name: string,
    s: { failed: number; lockedUntil: number; lockouts: number; failedAt?: number },
  ): Promise<void>;
  setRole(name: string, role: Role): Promise<void>;
  countAdmins(): Promise<number>;
  // moderation
  addKick(k: KickRow): Promise<void>;
  listKicks(limit: number): Promise<KickRow[]>;
  /** The latest ban of `user` still running at `now`, or null. */
  activeBan(user: string, now: number): Promise<KickRow | null>;
  liftBans(user: string, now: number): Promise<number>;
  audit(a: AuditRow): Promise<void>;
  listAudit(limit: number): Promise<AuditRow[]>;
  // messages
  /** Appends in order, durably, in one transaction. Returns the stored rows; null for a duplicate (sender, mid). */
  appendMessages(batch: NewMessage[]): Promise<(StoredMessage | null)[]>;
  lastSeq(): Promise<number>;
  /** Every message with seq > afterSeq, oldest first, at most `limit` (a node catching up on the log). */
  since(afterSeq: number, limit: number): Promise<StoredMessage[]>;
  /** Seq and time of the message `mid` that `sender` stored, or null. */
  seqOf(sender: string, mid: string): Promise<{ seq: number; ts: number } | null>;
  /** Messages for `user` with seq > afterSeq not yet acknowledged, oldest first. */
  pending(user: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
  ack(user: string, conv: string, seq: number): Promise<void>;
  /** Several acks of one user in one transaction (a cursor never moves back). */
  ackMany(user: string, acks: readonly { conv: string; seq: number }[]): Promise<void>;
  /** Messages of one conversation with ts >= since and seq > afterSeq: the newest `limit`, oldest first. */
  /** …and, with `maxBytes`, only as many of the newest as fit in that many body bytes (at least one). */
  history(
    conv: string,
    since: number,
    afterSeq: number,
    limit: number,
    maxBytes?: number,
  ): Promise<StoredMessage[]>;
  // rooms
  createRoom(
    r: { name: string; createdBy: string; createdAt: number; members: RoomMember[] },
  ): Promise<boolean>;
  getRoom(name: string): Promise<RoomRow | null>;
  addMember(room: string, m: RoomMember): Promise<void>;
  removeMember(room: string, user: string): Promise<void>;
  roomsOf(user: string): Promise<RoomRow[]>;
  /** Appends a room membership log entry (opaque JSON); false unless `epoch` is the next one. */
  appendRoomLog(room: string, epoch: number, entry: string): Promise<boolean>;
  /** A room's membership log entries (JSON), in epoch order. */
  roomLog(room: string): Promise<string[]>;
  // key directory (public keys only)
  putIdentity(user: string, identity: string, spk: string): Promise<void>;
  addPrekeys(user: string, opks: { id: number; pub: string }[]): Promise<void>;
  /** The identity and signed prekey, and (when `withOpk`, the default) one one-time prekey, removed. */
  takeBundle(user: string, withOpk?: boolean): Promise<KeyBundleRow | null>;
  countPrekeys(user: string): Promise<number>;
  // resume tokens (stored as SHA-256 hashes)
  addToken(user: string, hash: string, expires: number): Promise<void>;
  /** The user a live token belongs to, or null. */
  tokenUser(hash: string, now: number): Promise<string | null>;
  dropTokens(user: string): Promise<void>;
  /** Revokes one token; true when it existed. */
  dropToken(hash: string): Promise<boolean>;
  /** Deletes expired tokens, and all but the `keep` newest (by expiry) of `user`. */
  pruneTokens(user: string, keep: number, now: number): Promise<void>;
  close(): Promise<void>;
}
