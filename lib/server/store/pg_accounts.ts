/**
 * The account half of `PostgresStore`: users and logins, roles, kicks and bans, the audit log,
 * identity keys and prekeys, devices, resume tokens. With postgres_store.ts and pg_migrations.ts, the
 * only places that speak Postgres SQL.
 */
import type { Sql } from "./postgres_store.ts";
import type { Clock } from "../../common/clock.ts";
import { deviceAddress } from "../../common/device_address.ts";
import type { AuditRow, DeviceRow, KeyBundleRow, KickRow, LoginSourceRow, Role, UserRow } from "./store.ts";

export type Row = Record<string, unknown>;

export const n = (v: unknown): number => Number(v);

const toUser = (r: Row): UserRow => ({
  name: r.name as string,
  hash: r.hash as string,
  role: r.role as Role,
  createdAt: n(r.created_at),
  createdSeq: n(r.created_seq),
  failed: n(r.failed),
  lockedUntil: n(r.locked_until),
  lockouts: n(r.lockouts),
  failedAt: n(r.failed_at),
  kdf: (r.kdf as string | null) ?? null,
});

const toKick = (r: Row): KickRow => ({
  user: r.user_name as string,
  by: r.by_user as string,
  at: n(r.at),
  bannedUntil: r.banned_until === null ? null : n(r.banned_until),
  reason: (r.reason as string | null) ?? null,
});

/**
 * How long a node answers a user's device rows from memory (`devicesNow`) after it read or wrote them,
 * ms. Another node's change reaches it on the bus at once (`forgetDevices`); this bounds the wait when
 * that event is lost. The rows decide whether an unproven session may send and which devices a DM
 * must name: a node lagging this long lets a password-only session act up to this long after the
 * account's first device key, or takes a DM for a device removed this long ago (that device's
 * sessions are ended, and its next login reads the rows afresh: `devices`).
 */
export const DEVICES_FRESH_MS = 1000;

export abstract class PgAccounts {
  /** Device rows read or written here lately, by user, with when they were read. */
  readonly #devices = new Map<string, { rows: readonly Readonly<DeviceRow>[]; at: number }>();
  /** Moves on every change or forget: a read that started before one does not fill `#devices`. */
  #devicesGen = 0;
  devicesChanged: ((user: string) => void) | null = null;

  constructor(protected readonly sql: Sql, protected readonly clock: Clock) {}

  async createUser(
    u: { name: string; hash: string; role: Role; createdAt: number; kdf?: string },
  ): Promise<boolean> {
    const r = await this.sql`
      INSERT INTO users (name, hash, role, created_at, created_seq, kdf)
      VALUES (${u.name}, ${u.hash}, ${u.role}, ${u.createdAt}, (SELECT COALESCE(MAX(seq), 0) FROM messages),
              ${u.kdf ?? null})
      ON CONFLICT (name) DO NOTHING`;
    return r.count === 1;
  }
  async setCredential(name: string, hash: string, kdf: string): Promise<void> {
    await this.sql`UPDATE users SET hash = ${hash}, kdf = ${kdf} WHERE name = ${name}`;
  }
  async serverSecret(): Promise<string> {
    return (await this.sql`SELECT v FROM server_meta WHERE k = 'secret'`)[0]!.v as string;
  }
  async certKey(): Promise<string | null> {
    const [r] = await this.sql`SELECT v FROM server_meta WHERE k = 'cert_fingerprint'`;
    return r ? r.v as string : null;
  }
  async setCertKey(fp: string): Promise<void> {
    await this.sql`INSERT INTO server_meta (k, v) VALUES ('cert_fingerprint', ${fp})
      ON CONFLICT (k) DO UPDATE SET v = excluded.v`;
  }
  async getUser(name: string): Promise<UserRow | null> {
    const [r] = await this.sql`SELECT * FROM users WHERE name = ${name}`;
    return r ? toUser(r) : null;
  }
  async listUsers(): Promise<UserRow[]> {
    return (await this.sql`SELECT * FROM users ORDER BY name`).map(toUser);
  }
  async setLoginState(
    name: string,
    s: { failed: number; lockedUntil: number; lockouts: number; failedAt?: number },
  ): Promise<void> {
    await this.sql`UPDATE users SET failed = ${s.failed}, locked_until = ${s.lockedUntil},
      lockouts = ${s.lockouts}, failed_at = ${s.failedAt ?? 0} WHERE name = ${name}`;
  }
  async loginSource(name: string, net: string): Promise<LoginSourceRow | null> {
    const [r] = await this.sql`SELECT * FROM login_sources WHERE user_name = ${name} AND net = ${net}`;
    return r
      ? {
        failed: n(r.failed),
        failedAt: n(r.failed_at),
        lockedUntil: n(r.locked_until),
        lockouts: n(r.lockouts),
      }
      : null;
  }
  async setLoginSource(name: string, net: string, s: LoginSourceRow | null): Promise<void> {
    if (!s) {
      await this.sql`DELETE FROM login_sources WHERE user_name = ${name} AND net = ${net}`;
      return;
    }
    await this.sql`INSERT INTO login_sources (user_name, net, failed, failed_at, locked_until, lockouts)
      VALUES (${name}, ${net}, ${s.failed}, ${s.failedAt}, ${s.lockedUntil}, ${s.lockouts})
      ON CONFLICT (user_name, net) DO UPDATE SET failed = EXCLUDED.failed, failed_at = EXCLUDED.failed_at,
        locked_until = EXCLUDED.locked_until, lockouts = EXCLUDED.lockouts`;
  }
  async pruneLoginSources(name: string, before: number | null): Promise<void> {
    if (before === null) await this.sql`DELETE FROM login_sources WHERE user_name = ${name}`;
    else {
      await this.sql`DELETE FROM login_sources WHERE user_name = ${name} AND failed_at < ${before}
        AND locked_until < ${before}`;
    }
  }
  async setRole(name: string, role: Role): Promise<void> {
    await this.sql`UPDATE users SET role = ${role} WHERE name = ${name}`;
  }
  async countAdmins(): Promise<number> {
    return n((await this.sql`SELECT COUNT(*) AS n FROM users WHERE role = 'admin'`)[0]!.n);
  }

  async addKick(k: KickRow): Promise<void> {
    await this.sql`INSERT INTO kicks (user_name, by_user, at, banned_until, reason)
      VALUES (${k.user}, ${k.by}, ${k.at}, ${k.bannedUntil}, ${k.reason})`;
  }
  async listKicks(limit: number): Promise<KickRow[]> {
    return (await this.sql`SELECT * FROM kicks ORDER BY id DESC LIMIT ${limit}`).map(toKick);
  }
  async activeBan(user: string, now: number): Promise<KickRow | null> {
    const [r] = await this.sql`SELECT * FROM kicks WHERE user_name = ${user} AND banned_until > ${now}
      ORDER BY banned_until DESC LIMIT 1`;
    return r ? toKick(r) : null;
  }
  async liftBans(user: string, now: number): Promise<number> {
    const r = await this.sql`UPDATE kicks SET banned_until = ${now}
      WHERE user_name = ${user} AND banned_until > ${now}`;
    return r.count;
  }
  async audit(a: AuditRow): Promise<void> {
    await this.sql`INSERT INTO audit (at, actor, action, target, detail)
      VALUES (${a.at}, ${a.actor}, ${a.action}, ${a.target}, ${a.detail})`;
  }
  async auditRepeat(a: AuditRow, since: number): Promise<void> {
    await this.sql.begin(async (tx) => {
      const r = await tx`UPDATE audit SET count = count + 1
        WHERE actor = ${a.actor} AND action = ${a.action} AND target = ${a.target} AND at >= ${since}`;
      if (r.count === 0) {
        await tx`INSERT INTO audit (at, actor, action, target, detail)
          VALUES (${a.at}, ${a.actor}, ${a.action}, ${a.target}, ${a.detail})`;
      }
    });
  }
  async listAudit(limit: number): Promise<AuditRow[]> {
    const rows = await this.sql`SELECT at, actor, action, target, detail, count FROM audit
      ORDER BY id DESC LIMIT ${limit}`;
    return rows.map((r) => ({
      at: n(r.at),
      actor: r.actor as string,
      action: r.action as string,
      target: r.target as string,
      detail: r.detail as string,
      count: n(r.count),
    }));
  }
  async putIdentity(user: string, identity: string, spk: string): Promise<void> {
    await this.sql.begin(async (tx) => {
      const [old] = await tx`SELECT identity FROM key_identity WHERE user_name = ${user} FOR UPDATE`;
      // A new identity invalidates the one-time prekeys made for the old one.
      if (old && old.identity !== identity) await tx`DELETE FROM key_prekeys WHERE user_name = ${user}`;
      await tx`INSERT INTO key_identity (user_name, identity, spk) VALUES (${user}, ${identity}, ${spk})
        ON CONFLICT (user_name) DO UPDATE SET identity = excluded.identity, spk = excluded.spk`;
    });
  }
  async addPrekeys(user: string, opks: { id: number; pub: string }[]): Promise<void> {
    await this.sql.begin(async (tx) => {
      for (const k of opks) {
        await tx`INSERT INTO key_prekeys (user_name, id, pub) VALUES (${user}, ${k.id}, ${JSON.stringify(k)})
          ON CONFLICT (user_name, id) DO UPDATE SET pub = excluded.pub`;
      }
    });
  }
  async takeBundle(user: string, withOpk = true): Promise<KeyBundleRow | null> {
    const [r] = await this.sql`SELECT identity, spk FROM key_identity WHERE user_name = ${user}`;
    if (!r) return null;
    const [k] = withOpk
      ? await this.sql`DELETE FROM key_prekeys WHERE (user_name, id) = (
          SELECT user_name, id FROM key_prekeys WHERE user_name = ${user} ORDER BY id LIMIT 1
          FOR UPDATE SKIP LOCKED) RETURNING pub`
      : [];
    return { identity: r.identity as string, spk: r.spk as string, opk: k ? k.pub as string : null };
  }
  async countPrekeys(user: string): Promise<number> {
    return n((await this.sql`SELECT COUNT(*) AS n FROM key_prekeys WHERE user_name = ${user}`)[0]!.n);
  }

  async addDevice(
    user: string,
    name: string,
    created: number,
    sinceSeq: number,
    signKey?: string,
  ): Promise<number> {
    return await this.#deviceWrite(user, () =>
      this.sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(hashtext(${"devices:" + user}))`;
        const [r] = await tx`SELECT COALESCE(MAX(device), 0) AS n FROM devices WHERE user_name = ${user}`;
        const id = n(r!.n) + 1;
        await tx`INSERT INTO devices (user_name, device, name, created, since_seq, sign_key)
          VALUES (${user}, ${id}, ${name}, ${created}, ${sinceSeq}, ${signKey ?? null})`;
        return id;
      }));
  }
  async setDeviceKey(user: string, device: number, signKey: string): Promise<boolean> {
    const r = await this.#deviceWrite(user, () =>
      this.sql`UPDATE devices SET sign_key = ${signKey}
        WHERE user_name = ${user} AND device = ${device} AND sign_key IS NULL`);
    return r.count === 1;
  }
  async devices(user: string): Promise<DeviceRow[]> {
    const [gen, at] = [this.#devicesGen, this.clock.now()];
    const rows: DeviceRow[] =
      (await this.sql`SELECT * FROM devices WHERE user_name = ${user} ORDER BY device`)
        .map((r) => ({
          device: n(r.device),
          name: r.name as string,
          created: n(r.created),
          sinceSeq: n(r.since_seq),
          removed: r.removed === null ? null : n(r.removed),
          signKey: r.sign_key == null ? null : String(r.sign_key),
        }));
    if (gen === this.#devicesGen) this.#devices.set(user, { rows: rows.map((d) => ({ ...d })), at });
    return rows;
  }
  devicesNow(user: string): readonly Readonly<DeviceRow>[] | undefined {
    const e = this.#devices.get(user);
    if (!e) return undefined;
    if (this.clock.now() - e.at <= DEVICES_FRESH_MS) return e.rows;
    this.#devices.delete(user);
    return undefined;
  }
  forgetDevices(user: string): void {
    this.#devicesGen++;
    this.#devices.delete(user);
  }
  /**
   * Runs `write` on `user`'s device rows; after it, done or not (its outcome may be unknown), the rows
   * held here are forgotten and `devicesChanged` told.
   */
  async #deviceWrite<T>(user: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.forgetDevices(user);
      this.devicesChanged?.(user);
    }
  }
  async removeDevice(user: string, device: number, now: number): Promise<boolean> {
    return await this.#deviceWrite(user, () =>
      this.sql.begin(async (tx) => {
        const r = await tx`UPDATE devices SET removed = ${now}
          WHERE user_name = ${user} AND device = ${device} AND removed IS NULL`;
        if (r.count !== 1) return false;
        const key = deviceAddress(user, device);
        await tx`DELETE FROM key_identity WHERE user_name = ${key}`;
        await tx`DELETE FROM key_prekeys WHERE user_name = ${key}`;
        return true;
      }));
  }
  async resetDevices(user: string, now: number): Promise<void> {
    await this.#deviceWrite(user, () =>
      this.sql.begin(async (tx) => {
        await tx`UPDATE devices SET removed = ${now} WHERE user_name = ${user} AND removed IS NULL`;
        const prefix = `${user}/`;
        await tx`DELETE FROM key_identity WHERE user_name = ${user} OR left(user_name, ${prefix.length}) = ${prefix}`;
        await tx`DELETE FROM key_prekeys WHERE user_name = ${user} OR left(user_name, ${prefix.length}) = ${prefix}`;
      }));
  }

  async addToken(user: string, hash: string, expires: number): Promise<void> {
    await this.sql`INSERT INTO tokens (hash, user_name, expires) VALUES (${hash}, ${user}, ${expires})
      ON CONFLICT (hash) DO UPDATE SET user_name = excluded.user_name, expires = excluded.expires`;
  }
  async tokenOwner(hash: string, now: number): Promise<{ user: string; role: Role } | null> {
    const [r] = await this.sql`SELECT u.name, u.role FROM tokens t JOIN users u ON u.name = t.user_name
      WHERE t.hash = ${hash} AND t.expires > ${now}`;
    return r ? { user: r.name as string, role: r.role as Role } : null;
  }
  async dropTokens(user: string): Promise<void> {
    await this.sql`DELETE FROM tokens WHERE user_name = ${user}`;
  }
  async dropToken(hash: string): Promise<boolean> {
    return (await this.sql`DELETE FROM tokens WHERE hash = ${hash}`).count > 0;
  }
  async pruneTokens(user: string, keep: number, now: number): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`DELETE FROM tokens WHERE expires <= ${now}`;
      await tx`DELETE FROM tokens WHERE user_name = ${user} AND hash NOT IN
        (SELECT hash FROM tokens WHERE user_name = ${user} ORDER BY expires DESC LIMIT ${keep})`;
    });
  }
  async addInvite(hash: string, by: string, expires: number): Promise<void> {
    await this.sql`INSERT INTO invites (hash, by_user, expires) VALUES (${hash}, ${by}, ${expires})
      ON CONFLICT (hash) DO UPDATE SET by_user = EXCLUDED.by_user, expires = EXCLUDED.expires`;
  }
  async takeInvite(hash: string, now: number): Promise<{ by: string; expires: number } | null> {
    return await this.sql.begin(async (tx) => {
      await tx`DELETE FROM invites WHERE expires <= ${now}`;
      const [r] = await tx`DELETE FROM invites WHERE hash = ${hash} RETURNING by_user, expires`;
      return r ? { by: r.by_user as string, expires: n(r.expires) } : null;
    });
  }
}
