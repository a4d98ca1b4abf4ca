/**
 * Schema migrations for the PostgreSQL store, applied in order under an advisory lock; the
 * `schema_version` table records how many have run. Append new steps; never edit a released one.
 * Times and sequence numbers are BIGINT (milliseconds, seq); `user_name` because `user` is reserved.
 */

export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    name TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'user',
    created_at BIGINT NOT NULL, created_seq BIGINT NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0,
    lockouts INTEGER NOT NULL DEFAULT 0, failed_at BIGINT NOT NULL DEFAULT 0
  );
  CREATE TABLE messages (
    seq BIGINT PRIMARY KEY, mid TEXT NOT NULL, sender TEXT NOT NULL, kind TEXT NOT NULL,
    target TEXT NOT NULL, conv TEXT NOT NULL, ts BIGINT NOT NULL, body BYTEA NOT NULL,
    UNIQUE (sender, mid)
  );
  CREATE INDEX messages_conv ON messages (conv, seq);
  CREATE INDEX messages_target ON messages (kind, target, seq);
  CREATE TABLE cursors (
    user_name TEXT NOT NULL, conv TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (user_name, conv)
  );
  CREATE TABLE rooms (name TEXT PRIMARY KEY, created_by TEXT NOT NULL, created_at BIGINT NOT NULL);
  CREATE TABLE room_members (
    room TEXT NOT NULL, user_name TEXT NOT NULL, since_seq BIGINT NOT NULL,
    admin BOOLEAN NOT NULL DEFAULT false, PRIMARY KEY (room, user_name)
  );
  CREATE INDEX room_members_user ON room_members (user_name);
  CREATE TABLE kicks (
    id BIGSERIAL PRIMARY KEY, user_name TEXT NOT NULL, by_user TEXT NOT NULL, at BIGINT NOT NULL,
    banned_until BIGINT, reason TEXT
  );
  CREATE INDEX kicks_user ON kicks (user_name, banned_until);
  CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, detail TEXT NOT NULL
  );
  CREATE TABLE key_identity (user_name TEXT PRIMARY KEY, identity TEXT NOT NULL, spk TEXT NOT NULL);
  CREATE TABLE key_prekeys (
    user_name TEXT NOT NULL, id BIGINT NOT NULL, pub TEXT NOT NULL, PRIMARY KEY (user_name, id)
  );
  CREATE TABLE tokens (hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, expires BIGINT NOT NULL);
  CREATE INDEX tokens_user ON tokens (user_name);
  CREATE TABLE room_log (
    room TEXT NOT NULL, epoch INTEGER NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (room, epoch)
  );
  CREATE TABLE nodes (id TEXT PRIMARY KEY, seen_at BIGINT NOT NULL, bus BOOLEAN NOT NULL);
  `,
  // Issues 9 and 10 (as SQLite migrations 5–7): linked devices, client-side hashing records and the
  // server secret, audit repeat counts, a time index for the retention sweep.
  `
  CREATE TABLE devices (
    user_name TEXT NOT NULL, device INTEGER NOT NULL, name TEXT NOT NULL, created BIGINT NOT NULL,
    since_seq BIGINT NOT NULL, removed BIGINT, PRIMARY KEY (user_name, device)
  );
  ALTER TABLE users ADD COLUMN kdf TEXT;
  CREATE TABLE server_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
  INSERT INTO server_meta (k, v)
    VALUES ('secret', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
  ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
  CREATE INDEX audit_repeat ON audit (actor, action, target, at);
  CREATE INDEX messages_ts ON messages (ts);
  `,
  // Invitation codes (issue 33, as SQLite migration 8).
  `
  CREATE TABLE invites (hash TEXT PRIMARY KEY, by_user TEXT NOT NULL, expires BIGINT NOT NULL);
  `,
  // Device keys (issue 33, as SQLite migration 9).
  `
  ALTER TABLE devices ADD COLUMN sign_key TEXT;
  `,
  // Disappearing messages (issue 39.5, as SQLite migration 11).
  `
  ALTER TABLE messages ADD COLUMN expires BIGINT;
  CREATE INDEX messages_expires ON messages (expires) WHERE expires IS NOT NULL;
  `,
  // Failed logins per (account, source network) (issue 69 D1, as in the SQLite store).
  `
  CREATE TABLE login_sources (
    user_name TEXT NOT NULL, net TEXT NOT NULL, failed INTEGER NOT NULL, failed_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL, lockouts INTEGER NOT NULL, PRIMARY KEY (user_name, net)
  );
  `,
  // History paging (issue 68): a page, the newest N of a conversation before a seq, read backward from
  // this index, times checked in it (an index-only scan), never a sort of the conversation. It
  // replaces messages_conv (conv, seq), which it serves as well.
  `
  CREATE INDEX messages_conv_page ON messages (conv, seq) INCLUDE (ts);
  DROP INDEX messages_conv;
  `,
  // Controls every node applies from the store too (issue 74: kicks, bans, roles, device removals
  // that the bus lost); a day of them is kept.
  `
  CREATE TABLE controls (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, origin TEXT NOT NULL, event TEXT NOT NULL);
  CREATE INDEX controls_at ON controls (at);
  `,
  // Open rooms (issue 71.12, as the SQLite migration): rooms made before are closed, with no description.
  `
  ALTER TABLE rooms ADD COLUMN is_open BOOLEAN NOT NULL DEFAULT false;
  ALTER TABLE rooms ADD COLUMN description TEXT NOT NULL DEFAULT '';
  CREATE INDEX rooms_open ON rooms (name) WHERE is_open;
  `,
  // The bus protocol each node speaks (bus_event.ts BUS_PROTOCOL), said with its heartbeat; nodes that
  // do not say it (0.21, 0.22.0: their heartbeat names only id, seen_at and bus) read as 1.
  `
  ALTER TABLE nodes ADD COLUMN proto INTEGER NOT NULL DEFAULT 1;
  `,
  // Fewer index writes per stored message (issue 73). The only query on \`ts\` alone is the retention
  // sweep (postgres_store.ts \`sweepMessages\`: \`ts < before\`, oldest first, a batch at a time), which a
  // BRIN index answers: a few bytes per range of pages, written only when a range is summarized
  // (autovacuum), against a B-tree entry for every row. Rows are appended in time order, so the ranges
  // a sweep reads are the old pages. Every other index serves a query: the primary key (seq: \`since\`,
  // the seq top), (sender, mid) (resends, \`seqOf\`, unsend, \`storedBytes\`), messages_target
  // (\`pending\`), messages_conv_page (\`history\`), messages_expires (partial: rows without an expiry
  // write nothing to it).
  `
  CREATE INDEX messages_ts_brin ON messages USING brin (ts) WITH (autosummarize = on);
  DROP INDEX messages_ts;
  `,
];
