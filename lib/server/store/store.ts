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
  /** The client-side password hashing (JSON, lib/crypto/account_kdf.ts); null: an account from before it. */
  kdf: string | null;
}

/**
 * Failed logins to one account from one source network (/24 or /64, common/host_port.ts
 * `networkOf`) and that source's lockout (issue 69 D1: a lockout keeps out the network that
 * guessed, not the account's owner elsewhere).
 */
export interface LoginSourceRow {
  failed: number;
  /** When the last failure was counted (ms). */
  failedAt: number;
  lockedUntil: number;
  lockouts: number;
}

/** One user's (or device cursor's) acks, as `ackMany` takes them. */
export interface AckSet {
  user: string;
  acks: readonly { conv: string; seq: number }[];
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
  /** Disappearing messages (issue 39.5): when the stored copy goes, delivered or not (ms). */
  expires?: number;
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
  /** Anyone may join by themself (issue 71.12); members' clients decide by the room's log, not by this. */
  open: boolean;
  /** The room's public description (not encrypted: shown to non-members in the open rooms' list); "" when none. */
  description: string;
}

/** One open room as the server lists it to anyone: no member names. */
export interface OpenRoomRow {
  name: string;
  members: number;
  description: string;
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
  /** How many times it happened (repeated denials share one row per window). */
  count?: number;
}

export interface DeviceRow {
  device: number;
  name: string;
  created: number;
  /** Messages with seq ≤ this were stored before the device existed (not in its queue). */
  sinceSeq: number;
  /** When it was removed (ms), or null while active. */
  removed: number | null;
  /** The device's own Ed25519 public key (base64), or null for a device from before device keys. */
  signKey: string | null;
}

/** Whose queue: a device's own cursors (key "user" for device 1, "user/N" otherwise) and start. */
export interface QueueOwner {
  cursor: string;
  sinceSeq: number;
  /** Also one's own messages (sent from one's other devices; the sending one knows them by id). */
  own?: boolean;
}

export interface KeyBundleRow {
  identity: string;
  spk: string;
  opk: string | null;
}

/** The console's `/db`: counts, where the store lives (a file, or a redacted address) and its size. */
export interface StoreStats {
  users: number;
  rooms: number;
  messages: number;
  bodyBytes: number;
  where: string;
  sizeBytes: number;
  /** The store's files and their sizes (an embedded store: the database, its WAL and WAL index). */
  files?: { name: string; bytes: number }[];
}

export interface Store {
  // accounts
  createUser(
    u: { name: string; hash: string; role: Role; createdAt: number; kdf?: string },
  ): Promise<boolean>;
  /** Replaces a user's password hash and client-side hashing record. */
  setCredential(name: string, hash: string, kdf: string): Promise<void>;
  /** A random secret made once per data folder (stand-in salts for unknown accounts). */
  serverSecret(): Promise<string>;
  /**
   * The certificate key this database belongs with (server_meta `cert_fingerprint`: the SHA-256 of
   * the TLS certificate's public key, lib/server/cert_key.ts), or null when none is recorded yet.
   */
  certKey(): Promise<string | null>;
  /** Records `fp` as the certificate key this database belongs with. */
  setCertKey(fp: string): Promise<void>;
  getUser(name: string): Promise<UserRow | null>;
  listUsers(): Promise<UserRow[]>;
  setLoginState(
    name: string,
    s: { failed: number; lockedUntil: number; lockouts: number; failedAt?: number },
  ): Promise<void>;
  /** The failed logins to `name` from the source network `net`, or null when none are kept. */
  loginSource(name: string, net: string): Promise<LoginSourceRow | null>;
  /** Keeps `s` for (`name`, `net`); null forgets it. */
  setLoginSource(name: string, net: string, s: LoginSourceRow | null): Promise<void>;
  /**
   * Forgets `name`'s sources whose last failure and lockout both ended before `before` (ms), or all
   * of them when `before` is null (an admin's unlock).
   */
  pruneLoginSources(name: string, before: number | null): Promise<void>;
  setRole(name: string, role: Role): Promise<void>;
  countAdmins(): Promise<number>;
  // moderation
  addKick(k: KickRow): Promise<void>;
  listKicks(limit: number): Promise<KickRow[]>;
  /** The latest ban of `user` still running at `now`, or null. */
  activeBan(user: string, now: number): Promise<KickRow | null>;
  liftBans(user: string, now: number): Promise<number>;
  audit(a: AuditRow): Promise<void>;
  /** Counts `a` on the row of the same actor, action and target since `since`, or adds a row (count 1). */
  auditRepeat(a: AuditRow, since: number): Promise<void>;
  listAudit(limit: number): Promise<AuditRow[]>;
  // messages
  /**
   * Appends in order, durably, all or nothing. Returns the stored rows; null for a duplicate
   * (sender, mid). A row may be the batch's own object given its `seq` (the embedded store's
   * are): a caller keeps no message it appends for another use. `acks` (cursor moves of several users, as `ackMany` takes them) ride along with
   * the message batch instead of a commit each: in its transaction (PostgreSQL), or just before its
   * append to the message log (the embedded store; an ack names seqs stored before, so it holds
   * whether the append then succeeds or not).
   */
  appendMessages(batch: NewMessage[], acks?: readonly AckSet[]): Promise<(StoredMessage | null)[]>;
  /** Bytes of message bodies `sender` has stored (the per-user quota). */
  storedBytes(sender: string): Promise<number>;
  /**
   * Deletes up to `limit` messages older than `before` that every recipient has acknowledged
   * (retention); returns how many went.
   */
  sweepMessages(before: number, limit: number): Promise<number>;
  lastSeq(): Promise<number>;
  /** What the store holds (the console's /db): rows, message body bytes, where it is and its size. */
  stats(): Promise<StoreStats>;
  /** Every message with seq > afterSeq, oldest first, at most `limit` (a node catching up on the log). */
  since(afterSeq: number, limit: number): Promise<StoredMessage[]>;
  /** Deletes up to `limit` messages whose `expires` is at or before `now` (issue 39.5); how many. */
  sweepExpired(now: number, limit: number): Promise<number>;
  /**
   * After deletions, makes sure no copy of the deleted rows stays in the store's files (the
   * embedded store truncates its WAL); called after each expiry sweep. Optional: a store whose
   * deletions leave nothing behind has none.
   */
  scrub?(): Promise<void>;
  /** Deletes the message `mid` that `sender` stored (issue 39.3); the bytes freed, or null when none. */
  unsendMessage(sender: string, mid: string): Promise<number | null>;
  /** Seq and time of the message `mid` that `sender` stored, or null. */
  seqOf(sender: string, mid: string): Promise<{ seq: number; ts: number } | null>;
  /**
   * Messages for `user` with seq > afterSeq not yet acknowledged, oldest first; with `device`,
   * acknowledged by that device's cursor and only those stored after the device was added.
   */
  pending(user: string, afterSeq: number, limit: number, device?: QueueOwner): Promise<StoredMessage[]>;
  ack(user: string, conv: string, seq: number): Promise<void>;
  /** Several acks of one user in one transaction (a cursor never moves back). */
  ackMany(user: string, acks: readonly { conv: string; seq: number }[]): Promise<void>;
  /** Messages of one conversation with ts >= since and seq > afterSeq: the newest `limit`, oldest first. */
  /** …and, with `maxBytes`, only as many of the newest as fit in that many body bytes (at least one); */
  /** with `beforeSeq`, only those with seq < beforeSeq (the page before it: history paging, issue 68). */
  history(
    conv: string,
    since: number,
    afterSeq: number,
    limit: number,
    maxBytes?: number,
    beforeSeq?: number,
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
  /**
   * Sets whether `room` is open and its public description (each when given); false when there is
   * no such room. Created rooms are closed, with no description.
   */
  setRoomPublic(room: string, p: { open?: boolean; description?: string }): Promise<boolean>;
  /** The open rooms by name, at most `limit`, with their member counts and descriptions. */
  openRooms(limit: number): Promise<OpenRoomRow[]>;
  // key directory (public keys only)
  putIdentity(user: string, identity: string, spk: string): Promise<void>;
  addPrekeys(user: string, opks: { id: number; pub: string }[]): Promise<void>;
  /** The identity and signed prekey, and (when `withOpk`, the default) one one-time prekey, removed. */
  takeBundle(user: string, withOpk?: boolean): Promise<KeyBundleRow | null>;
  countPrekeys(user: string): Promise<number>;
  // linked devices
  /** Adds a device (ids start at 1 and are never reused); returns its id. */
  addDevice(user: string, name: string, created: number, sinceSeq: number, signKey?: string): Promise<number>;
  /** Records the device key of a device from before device keys (once: false when it has one). */
  setDeviceKey(user: string, device: number, signKey: string): Promise<boolean>;
  /** Every device of `user`, removed ones included (see `removed`), by id. */
  devices(user: string): Promise<DeviceRow[]>;
  /**
   * The same rows at once, read-only (not copies), when this process holds them (the hot `send` path
   * checks a session's device without waiting for a promise); undefined when it must read them
   * (`devices`). The embedded SQLite store always holds them; one shared by several nodes holds what it
   * read or wrote last for at most `DEVICES_FRESH_MS`, and drops it when told (`forgetDevices`).
   */
  devicesNow?(user: string): readonly Readonly<DeviceRow>[] | undefined;
  /** A store shared by several nodes: another node changed `user`'s device rows (its next read asks). */
  forgetDevices?(user: string): void;
  /** Told after this store changed `user`'s device rows (a node tells the others: `forgetDevices`). */
  devicesChanged?: ((user: string) => void) | null;
  /** Marks a device removed and deletes its keys; false when it was not active. */
  removeDevice(user: string, device: number, now: number): Promise<boolean>;
  /** Removes every device of `user` and its keys (a `keys reset`). */
  resetDevices(user: string, now: number): Promise<void>;
  // resume tokens (stored as SHA-256 hashes)
  addToken(user: string, hash: string, expires: number): Promise<void>;
  /**
   * The account a live token belongs to, with its role (one lookup: a token login's whole read);
   * null when the token is unknown or expired, or its account is gone.
   */
  tokenOwner(hash: string, now: number): Promise<{ user: string; role: Role } | null>;
  dropTokens(user: string): Promise<void>;
  /** Revokes one token; true when it existed. */
  dropToken(hash: string): Promise<boolean>;
  /** Deletes expired tokens, and all but the `keep` newest (by expiry) of `user`. */
  pruneTokens(user: string, keep: number, now: number): Promise<void>;
  // invitation codes (stored as SHA-256 hashes; `--registration invite`)
  addInvite(hash: string, by: string, expires: number): Promise<void>;
  /** Uses up a live invitation (it is deleted, with every expired one); null when unknown or expired. */
  takeInvite(hash: string, now: number): Promise<{ by: string; expires: number } | null>;
  close(): Promise<void>;
}
