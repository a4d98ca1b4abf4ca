/**
 * Schema migrations for the SQLite store, applied in order; `PRAGMA user_version` records how
 * many have run. Append new steps; never edit a released one.
 */

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    name TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'user',
    created_at INTEGER NOT NULL, created_seq INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0, lockouts INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, mid TEXT NOT NULL, sender TEXT NOT NULL, kind TEXT NOT NULL,
    target TEXT NOT NULL, conv TEXT NOT NULL, ts INTEGER NOT NULL, body BLOB NOT NULL,
    UNIQUE (sender, mid)
  );
  CREATE INDEX messages_conv ON messages (conv, seq);
  CREATE INDEX messages_target ON messages (kind, target, seq);
  CREATE TABLE cursors (
    user TEXT NOT NULL, conv TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (user, conv)
  ) WITHOUT ROWID;
  CREATE TABLE rooms (name TEXT PRIMARY KEY, created_by TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE room_members (
    room TEXT NOT NULL, user TEXT NOT NULL, since_seq INTEGER NOT NULL, admin INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room, user)
  ) WITHOUT ROWID;
  CREATE INDEX room_members_user ON room_members (user);
  CREATE TABLE kicks (
    id INTEGER PRIMARY KEY, user TEXT NOT NULL, by_user TEXT NOT NULL, at INTEGER NOT NULL,
    banned_until INTEGER, reason TEXT
  );
  CREATE INDEX kicks_user ON kicks (user, banned_until);
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, detail TEXT NOT NULL
  );
  CREATE TABLE key_identity (user TEXT PRIMARY KEY, identity TEXT NOT NULL, spk TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE key_prekeys (
    user TEXT NOT NULL, id INTEGER NOT NULL, pub TEXT NOT NULL, PRIMARY KEY (user, id)
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE tokens (hash TEXT PRIMARY KEY, user TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX tokens_user ON tokens (user);
  `,
  `
  CREATE TABLE room_log (
    room TEXT NOT NULL, epoch INTEGER NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (room, epoch)
  ) WITHOUT ROWID;
  `,
  `
  ALTER TABLE users ADD COLUMN failed_at INTEGER NOT NULL DEFAULT 0;
  `,
  // Linked devices (issue 9): device 1 is the account's first folder; others get their own keys
  // (rows of key_identity/key_prekeys under "user/N") and their own queue cursors (since_seq on).
  `
  CREATE TABLE devices (
    user TEXT NOT NULL, device INTEGER NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL,
    since_seq INTEGER NOT NULL, removed INTEGER, PRIMARY KEY (user, device)
  ) WITHOUT ROWID;
  `,
  `
  ALTER TABLE users ADD COLUMN kdf TEXT;
  CREATE TABLE server_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
  INSERT INTO server_meta (k, v) VALUES ('secret', lower(hex(randomblob(32))));
  `,
  `
  ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
  CREATE INDEX audit_repeat ON audit (actor, action, target, at);
  CREATE INDEX messages_ts ON messages (ts);
  `,
  // Invitation codes (issue 33): `--registration invite`; SHA-256 of the code, one use each.
  `
  CREATE TABLE invites (hash TEXT PRIMARY KEY, by_user TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
  `,
  // Device keys (issue 33): each device's own Ed25519 key; removed rows keep theirs (never again).
  `
  ALTER TABLE devices ADD COLUMN sign_key TEXT;
  `,
  // Issue 37: retention finds its range of old messages by seq (a binary search on the primary key:
  // ts grows with seq), so the index on ts, paid for by every insert, goes.
  `
  DROP INDEX IF EXISTS messages_ts;
  `,
  // Disappearing messages (issue 39.5): when a stored copy is deleted whether acknowledged or not.
  `
  ALTER TABLE messages ADD COLUMN expires INTEGER;
  CREATE INDEX messages_expires ON messages (expires) WHERE expires IS NOT NULL;
  `,
  // Issue 37: the UNIQUE (sender, mid) index over all history cost about half of every insert (a
  // random leaf per message: mids are random). Resends are found in a window of each sender's newest
  // messages instead (sqlite_store.ts), through an index in seq order per sender, which also serves
  // unsend, quotas and one's own DMs. The table is rebuilt (a UNIQUE constraint cannot be dropped);
  // its AUTOINCREMENT high mark is carried over so that no seq is given twice.
  `
  CREATE TABLE messages_v12 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, mid TEXT NOT NULL, sender TEXT NOT NULL, kind TEXT NOT NULL,
    target TEXT NOT NULL, conv TEXT NOT NULL, ts INTEGER NOT NULL, body BLOB NOT NULL, expires INTEGER
  );
  INSERT INTO messages_v12 (seq, mid, sender, kind, target, conv, ts, body, expires)
    SELECT seq, mid, sender, kind, target, conv, ts, body, expires FROM messages ORDER BY seq;
  DELETE FROM sqlite_sequence WHERE name = 'messages_v12';
  INSERT INTO sqlite_sequence (name, seq) SELECT 'messages_v12', seq FROM sqlite_sequence WHERE name = 'messages';
  DROP TABLE messages;
  ALTER TABLE messages_v12 RENAME TO messages;
  CREATE INDEX messages_conv ON messages (conv, seq);
  CREATE INDEX messages_target ON messages (kind, target, seq);
  CREATE INDEX messages_sender ON messages (sender, seq);
  CREATE INDEX messages_expires ON messages (expires) WHERE expires IS NOT NULL;
  `,
  // Issue 37: history no longer has its own index (conv, seq): a room's or a broadcast's is the
  // range of (kind, target) in the recipients' index, a DM's the two ranges of its two directions,
  // told apart by the sender kept at the end of that index (sqlite_store.ts). One index fewer for
  // every insert to update (~25 % of an insert's CPU in a 300,000-row micro-bench of 100 DM pairs).
  `
  DROP INDEX IF EXISTS messages_conv;
  DROP INDEX IF EXISTS messages_target;
  CREATE INDEX messages_target ON messages (kind, target, seq, sender);
  `,
  // Issue 37: the table keeps its primary key and the partial index on `expires` (empty for rows
  // without expiry) only. Where a message goes, who sent it and its conversation are indexed in memory
  // (message_index.ts, rebuilt when the store opens): with 100 DM pairs each of these two indexes
  // dirtied another 4 KiB page per message, so every commit wrote many WAL pages. A micro-bench
  // (200,000 rows, batches of 20, synchronous=FULL, 200-byte bodies): 29 µs of CPU per row with them,
  // 7.7 µs without.
  `
  DROP INDEX IF EXISTS messages_target;
  DROP INDEX IF EXISTS messages_sender;
  `,
  // Issue 68: messages are rows again (the segment log of 0.13–0.20 is imported at open), each with a
  // CRC-32 of its columns (sqlite_store.ts `rowCrc`), checked on every read: a flipped bit in a page
  // is found and said, never served. Rows from before this step have none (NULL: not checked).
  `
  ALTER TABLE messages ADD COLUMN crc INTEGER;
  `,
  // Issue 69 D1: failed logins and lockouts per (account, source network), so that guesses from one
  // network lock out that network, not the account's owner elsewhere.
  `
  CREATE TABLE login_sources (
    user_name TEXT NOT NULL, net TEXT NOT NULL, failed INTEGER NOT NULL, failed_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL, lockouts INTEGER NOT NULL, PRIMARY KEY (user_name, net)
  );
  `,
  // Issue 73: the keys of messages older than the newest few thousand move from memory into
  // SQLite (sqlite_keys.ts): the in-memory index's lists as chunks, a row per list per move; the names
  // their integers stand for; each sender's totals; and the highest seq whose keys are here (`upto`).
  // A start reads the rows above it only.
  `
  CREATE TABLE key_chunks (
    id INTEGER PRIMARY KEY, list TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    data BLOB NOT NULL
  );
  CREATE INDEX key_chunks_list ON key_chunks (list, last_seq, first_seq);
  CREATE TABLE key_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
  CREATE TABLE message_totals (
    sender TEXT PRIMARY KEY, messages INTEGER NOT NULL, bytes INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE message_keys_mark (id INTEGER PRIMARY KEY CHECK (id = 1), upto INTEGER NOT NULL);
  INSERT INTO message_keys_mark (id, upto) VALUES (1, 0);
  `,
  // Open rooms (issue 71.12): anyone may join one by themself; its description is public (shown to
  // non-members, never encrypted). Rooms made before are closed, with none.
  `
  ALTER TABLE rooms ADD COLUMN is_open INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE rooms ADD COLUMN description TEXT NOT NULL DEFAULT '';
  CREATE INDEX rooms_open ON rooms (name) WHERE is_open = 1;
  `,
];
