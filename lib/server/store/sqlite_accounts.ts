/**
 * The account half of `SqliteStore`: users and logins, roles, kicks and bans, the audit log,
 * identity keys and prekeys, devices, resume tokens. SQL lives only here, in sqlite_store.ts and
 * in the migrations.
 */
import { type Row, SqliteBase } from "./sqlite_base.ts";
import { deviceAddress } from "../../common/device_address.ts";
import { LruMap } from "../../common/lru.ts";
import type { AuditRow, DeviceRow, KeyBundleRow, KickRow, LoginSourceRow, Role, UserRow } from "./store.ts";

const toUser = (r: Row): UserRow => ({
  name: r.name as string,
  hash: r.hash as string,
  role: r.role as Role,
  createdAt: r.created_at as number,
  createdSeq: r.created_seq as number,
  failed: r.failed as number,
  lockedUntil: r.locked_until as number,
  lockouts: r.lockouts as number,
  failedAt: (r.failed_at as number | undefined) ?? 0,
  kdf: (r.kdf as string | null | undefined) ?? null,
});

const toSource = (r: Row): LoginSourceRow => ({
  failed: r.failed as number,
  failedAt: r.failed_at as number,
  lockedUntil: r.locked_until as number,
  lockouts: r.lockouts as number,
});

const toKick = (r: Row): KickRow => ({
  user: r.user as string,
  by: r.by_user as string,
  at: r.at as number,
  bannedUntil: (r.banned_until as number | null) ?? null,
  reason: (r.reason as string | null) ?? null,
});

export abstract class SqliteAccounts extends SqliteBase {
  /**
   * Each user's device rows as last read (issue 37: every send of a session without a device proof
   * asks whether the account's devices have keys; a read of SQLite's WAL costs ~7 µs even for no row).
   * Only this process writes the table while serving, and every write below forgets the user's entry.
   */
  readonly #devices = new LruMap<string, DeviceRow[]>(4096);

  /** The highest message seq stored (a new user's `createdSeq`). */
  protected abstract topSeq(): number;

  createUser(
    u: { name: string; hash: string; role: Role; createdAt: number; kdf?: string },
  ): Promise<boolean> {
    const r = this.q(
      `INSERT OR IGNORE INTO users (name, hash, role, created_at, created_seq, kdf) VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(u.name, u.hash, u.role, u.createdAt, this.topSeq(), u.kdf ?? null);
    return Promise.resolve(Number(r.changes) === 1);
  }
  setCredential(name: string, hash: string, kdf: string): Promise<void> {
    this.q("UPDATE users SET hash = ?, kdf = ? WHERE name = ?").run(hash, kdf, name);
    return Promise.resolve();
  }
  serverSecret(): Promise<string> {
    return Promise.resolve(
      (this.q("SELECT v FROM server_meta WHERE k = 'secret'").get() as Row).v as string,
    );
  }
  certKey(): Promise<string | null> {
    const r = this.q("SELECT v FROM server_meta WHERE k = 'cert_fingerprint'").get() as Row | undefined;
    return Promise.resolve(r ? r.v as string : null);
  }
  setCertKey(fp: string): Promise<void> {
    this.q("INSERT OR REPLACE INTO server_meta (k, v) VALUES ('cert_fingerprint', ?)").run(fp);
    return Promise.resolve();
  }
  getUser(name: string): Promise<UserRow | null> {
    const r = this.q("SELECT * FROM users WHERE name = ?").get(name) as Row | undefined;
    return Promise.resolve(r ? toUser(r) : null);
  }
  listUsers(): Promise<UserRow[]> {
    return Promise.resolve((this.q("SELECT * FROM users ORDER BY name").all() as Row[]).map(toUser));
  }
  setLoginState(
    name: string,
    s: { failed: number; lockedUntil: number; lockouts: number; failedAt?: number },
  ): Promise<void> {
    this.q("UPDATE users SET failed = ?, locked_until = ?, lockouts = ?, failed_at = ? WHERE name = ?")
      .run(s.failed, s.lockedUntil, s.lockouts, s.failedAt ?? 0, name);
    return Promise.resolve();
  }
  loginSource(name: string, net: string): Promise<LoginSourceRow | null> {
    const r = this.q("SELECT * FROM login_sources WHERE user_name = ? AND net = ?").get(name, net) as
      | Row
      | undefined;
    return Promise.resolve(r ? toSource(r) : null);
  }
  setLoginSource(name: string, net: string, s: LoginSourceRow | null): Promise<void> {
    if (!s) this.q("DELETE FROM login_sources WHERE user_name = ? AND net = ?").run(name, net);
    else {
      this.q(
        `INSERT OR REPLACE INTO login_sources (user_name, net, failed, failed_at, locked_until, lockouts)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(name, net, s.failed, s.failedAt, s.lockedUntil, s.lockouts);
    }
    return Promise.resolve();
  }
  pruneLoginSources(name: string, before: number | null): Promise<void> {
    if (before === null) this.q("DELETE FROM login_sources WHERE user_name = ?").run(name);
    else {
      this.q("DELETE FROM login_sources WHERE user_name = ? AND failed_at < ? AND locked_until < ?")
        .run(name, before, before);
    }
    return Promise.resolve();
  }
  setRole(name: string, role: Role): Promise<void> {
    this.q("UPDATE users SET role = ? WHERE name = ?").run(role, name);
    return Promise.resolve();
  }
  countAdmins(): Promise<number> {
    return Promise.resolve(
      (this.q("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'").get() as Row).n as number,
    );
  }

  addKick(k: KickRow): Promise<void> {
    this.q("INSERT INTO kicks (user, by_user, at, banned_until, reason) VALUES (?, ?, ?, ?, ?)")
      .run(k.user, k.by, k.at, k.bannedUntil, k.reason);
    return Promise.resolve();
  }
  listKicks(limit: number): Promise<KickRow[]> {
    return Promise.resolve(
      (this.q("SELECT * FROM kicks ORDER BY id DESC LIMIT ?").all(limit) as Row[]).map(toKick),
    );
  }
  activeBan(user: string, now: number): Promise<KickRow | null> {
    const r = this.q(
      "SELECT * FROM kicks WHERE user = ? AND banned_until > ? ORDER BY banned_until DESC LIMIT 1",
    ).get(user, now) as Row | undefined;
    return Promise.resolve(r ? toKick(r) : null);
  }
  liftBans(user: string, now: number): Promise<number> {
    const r = this.q("UPDATE kicks SET banned_until = ? WHERE user = ? AND banned_until > ?").run(
      now,
      user,
      now,
    );
    return Promise.resolve(Number(r.changes));
  }
  audit(a: AuditRow): Promise<void> {
    this.q("INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)")
      .run(a.at, a.actor, a.action, a.target, a.detail);
    return Promise.resolve();
  }
  auditRepeat(a: AuditRow, since: number): Promise<void> {
    this.tx(() => {
      const r = this.q(
        "UPDATE audit SET count = count + 1 WHERE actor = ? AND action = ? AND target = ? AND at >= ?",
      ).run(a.actor, a.action, a.target, since);
      if (Number(r.changes) === 0) void this.audit(a);
    });
    return Promise.resolve();
  }
  listAudit(limit: number): Promise<AuditRow[]> {
    const rows = this.q(
      "SELECT at, actor, action, target, detail, count FROM audit ORDER BY id DESC LIMIT ?",
    )
      .all(limit);
    return Promise.resolve(rows.map((r) => ({ ...(r as unknown as AuditRow) })));
  }

  putIdentity(user: string, identity: string, spk: string): Promise<void> {
    this.tx(() => {
      const old = this.q("SELECT identity FROM key_identity WHERE user = ?").get(user) as Row | undefined;
      // A new identity invalidates the one-time prekeys made for the old one.
      if (old && old.identity !== identity) this.q("DELETE FROM key_prekeys WHERE user = ?").run(user);
      this.q(
        `INSERT INTO key_identity (user, identity, spk) VALUES (?, ?, ?)
         ON CONFLICT (user) DO UPDATE SET identity = excluded.identity, spk = excluded.spk`,
      ).run(user, identity, spk);
    });
    return Promise.resolve();
  }
  addPrekeys(user: string, opks: { id: number; pub: string }[]): Promise<void> {
    const ins = this.q("INSERT OR REPLACE INTO key_prekeys (user, id, pub) VALUES (?, ?, ?)");
    this.tx(() => {
      for (const k of opks) ins.run(user, k.id, JSON.stringify(k));
    });
    return Promise.resolve();
  }
  takeBundle(user: string, withOpk = true): Promise<KeyBundleRow | null> {
    return Promise.resolve(this.tx(() => {
      const r = this.q("SELECT identity, spk FROM key_identity WHERE user = ?").get(user) as Row | undefined;
      if (!r) return null;
      const k = withOpk
        ? this.q("SELECT id, pub FROM key_prekeys WHERE user = ? ORDER BY id LIMIT 1").get(user) as
          | Row
          | undefined
        : undefined;
      if (k) this.q("DELETE FROM key_prekeys WHERE user = ? AND id = ?").run(user, k.id as number);
      return { identity: r.identity as string, spk: r.spk as string, opk: k ? k.pub as string : null };
    }));
  }
  countPrekeys(user: string): Promise<number> {
    return Promise.resolve(
      (this.q("SELECT COUNT(*) AS n FROM key_prekeys WHERE user = ?").get(user) as Row).n as number,
    );
  }

  addDevice(
    user: string,
    name: string,
    created: number,
    sinceSeq: number,
    signKey?: string,
  ): Promise<number> {
    this.#devices.delete(user);
    return Promise.resolve(this.tx(() => {
      const n = this.q("SELECT COALESCE(MAX(device), 0) AS n FROM devices WHERE user = ?").get(user) as Row;
      const id = Number(n.n) + 1;
      this.q(
        "INSERT INTO devices (user, device, name, created, since_seq, sign_key) VALUES (?, ?, ?, ?, ?, ?)",
      )
        .run(user, id, name, created, sinceSeq, signKey ?? null);
      return id;
    }));
  }
  setDeviceKey(user: string, device: number, signKey: string): Promise<boolean> {
    this.#devices.delete(user);
    const r = this.q("UPDATE devices SET sign_key = ? WHERE user = ? AND device = ? AND sign_key IS NULL")
      .run(signKey, user, device);
    return Promise.resolve(Number(r.changes) === 1);
  }
  devices(user: string): Promise<DeviceRow[]> {
    return Promise.resolve(this.devicesNow(user).map((d) => ({ ...d }))); // copies: a caller's change stays its own
  }
  devicesNow(user: string): readonly Readonly<DeviceRow>[] {
    let rows = this.#devices.get(user);
    if (!rows) {
      rows = (this.q("SELECT * FROM devices WHERE user = ? ORDER BY device").all(user) as Row[]).map((r) => ({
        device: Number(r.device),
        name: String(r.name),
        created: Number(r.created),
        sinceSeq: Number(r.since_seq),
        removed: r.removed === null ? null : Number(r.removed),
        signKey: r.sign_key == null ? null : String(r.sign_key),
      }));
      this.#devices.set(user, rows);
    }
    return rows;
  }
  removeDevice(user: string, device: number, now: number): Promise<boolean> {
    this.#devices.delete(user);
    return Promise.resolve(this.tx(() => {
      const r = this.q("UPDATE devices SET removed = ? WHERE user = ? AND device = ? AND removed IS NULL")
        .run(now, user, device);
      if (Number(r.changes) !== 1) return false;
      const key = deviceAddress(user, device);
      this.q("DELETE FROM key_identity WHERE user = ?").run(key);
      this.q("DELETE FROM key_prekeys WHERE user = ?").run(key);
      return true;
    }));
  }
  resetDevices(user: string, now: number): Promise<void> {
    this.#devices.delete(user);
    this.tx(() => {
      this.q("UPDATE devices SET removed = ? WHERE user = ? AND removed IS NULL").run(now, user);
      for (const t of ["key_identity", "key_prekeys"]) {
        this.q(`DELETE FROM ${t} WHERE user = ? OR substr(user, 1, ?) = ?`).run(
          user,
          user.length + 1,
          `${user}/`,
        );
      }
    });
    return Promise.resolve();
  }

  addToken(user: string, hash: string, expires: number): Promise<void> {
    this.q("INSERT OR REPLACE INTO tokens (hash, user, expires) VALUES (?, ?, ?)").run(hash, user, expires);
    return Promise.resolve();
  }
  tokenOwner(hash: string, now: number): Promise<{ user: string; role: Role } | null> {
    const r = this.q(
      "SELECT u.name, u.role FROM tokens t JOIN users u ON u.name = t.user WHERE t.hash = ? AND t.expires > ?",
    ).get(hash, now) as Row | undefined;
    return Promise.resolve(r ? { user: r.name as string, role: r.role as Role } : null);
  }
  dropTokens(user: string): Promise<void> {
    this.q("DELETE FROM tokens WHERE user = ?").run(user);
    return Promise.resolve();
  }
  dropToken(hash: string): Promise<boolean> {
    return Promise.resolve(Number(this.q("DELETE FROM tokens WHERE hash = ?").run(hash).changes) > 0);
  }
  pruneTokens(user: string, keep: number, now: number): Promise<void> {
    this.tx(() => {
      this.q("DELETE FROM tokens WHERE expires <= ?").run(now);
      this.q(
        `DELETE FROM tokens WHERE user = ? AND hash NOT IN
         (SELECT hash FROM tokens WHERE user = ? ORDER BY expires DESC LIMIT ?)`,
      ).run(user, user, keep);
    });
    return Promise.resolve();
  }
  addInvite(hash: string, by: string, expires: number): Promise<void> {
    this.q("INSERT OR REPLACE INTO invites (hash, by_user, expires) VALUES (?, ?, ?)").run(hash, by, expires);
    return Promise.resolve();
  }
  takeInvite(hash: string, now: number): Promise<{ by: string; expires: number } | null> {
    return Promise.resolve(this.tx(() => {
      this.q("DELETE FROM invites WHERE expires <= ?").run(now);
      const r = this.q("DELETE FROM invites WHERE hash = ? RETURNING by_user, expires").get(hash) as
        | Row
        | undefined;
      return r ? { by: r.by_user as string, expires: r.expires as number } : null;
    }));
  }
}
