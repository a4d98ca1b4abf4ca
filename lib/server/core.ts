/**
 * The server's shared state and the actions both the wire commands and the console use (kick,
 * grant, revoke, broadcast, shutdown notices). Holds the store, hub, accounts, message log,
 * config, clock and logger; does no socket I/O of its own.
 */
import type { Clock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import { yieldToIo } from "../common/turn.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { normalizeName } from "../protocol/names.ts";
import { UNSAFE } from "../common/sanitize.ts";
import type { Accounts } from "./accounts.ts";
import { KeyedBuckets } from "./rate.ts";
import { LruMap } from "../common/lru.ts";
import { filesDirOf, type ServerConfig } from "./config.ts";
import type { Hub } from "./hub.ts";
import type { PresenceEntry } from "./bus/bus.ts";
import type { MessageLog } from "./message_log.ts";
import type { KickRow, Store } from "./store/store.ts";
import { DiskSpace } from "./disk_space.ts";
import { type MetricsHooks, NO_METRICS } from "./metrics.ts";
import { isoSeconds } from "../common/parse_time.ts";
import { counted } from "../common/words.ts";

export type ActionResult = { ok: true; text: string } | { ok: false; code: string; msg: string };

const ok = (text: string): ActionResult => ({ ok: true, text });
const fail = (code: string, msg: string): ActionResult => ({ ok: false, code, msg });

/** One-time prekeys one requester may take from one user: a burst of 5, then one every 12 minutes. */
const OPK_BURST = 5, OPK_PER_HOUR = 5;
/** Messages deleted per statement of a retention sweep (the event loop runs between batches). */
const SWEEP_BATCH = 5_000;

export class Core {
  readonly startedAt: number;
  /**
   * Per (requester, user) budget of one-time prekeys (issue 10 item 12): past it, `keys.fetch`
   * still answers with the identity and signed prekey (X3DH works without a one-time key) but
   * leaves the user's one-time prekeys for others.
   */
  readonly opkBudget: KeyedBuckets;
  /** Stored message bytes per user (quota), cached after the first read. */
  #usage = new LruMap<string, number>(10_000);
  /** The free-space floor of the data and files folders (`--min-free`). */
  readonly disk: DiskSpace;
  /** What handlers report (logins, …); the server sets its Metrics (issue 38). */
  metrics: MetricsHooks = NO_METRICS;
  constructor(
    readonly config: ServerConfig,
    readonly store: Store,
    readonly hub: Hub,
    readonly accounts: Accounts,
    readonly messages: MessageLog,
    readonly clock: Clock,
    readonly log: Logger,
    /** Free bytes on the disk under a folder (data_dir.ts's `freeBytes`); null: unknown, never refused. */
    freeSpace: (dir: string) => number | null = () => null,
  ) {
    this.startedAt = clock.now();
    this.opkBudget = new KeyedBuckets(OPK_PER_HOUR / 3600, OPK_BURST, clock);
    this.disk = new DiskSpace(freeSpace, config.minFreeMiB * 1048576, clock);
  }

  /** The folder of relayed files (`--files-dir`, else inside the data folder). */
  get filesDir(): string {
    return filesDirOf(this.config);
  }

  /** Why storing `need` more bytes in the data folder (messages, accounts) is refused now, or null. */
  dataSpaceRefusal(need = 0, now?: number): { code: string; msg: string } | null {
    return this.disk.refusal(this.config.dataDir, need, now);
  }

  /**
   * Reserves `bytes` of `user`'s storage quota for a message; false (nothing reserved) when it
   * would go over. Usage is read from the store once per user, then kept here, so the answer is
   * synchronous after the first (a send is appended in the same turn it arrives).
   */
  reserveQuota(user: string, bytes: number): boolean | Promise<boolean> {
    const used = this.#usage.get(user);
    if (used === undefined) return this.#reserveLater(user, bytes);
    if (used + bytes > this.config.quotaBytes) return false;
    this.#usage.set(user, used + bytes);
    return true;
  }

  /** `reserveQuota` once the user's usage is read (apart: no closure on a hot path, ARCHITECTURE.md rule 9). */
  #reserveLater(user: string, bytes: number): Promise<boolean> {
    return this.store.storedBytes(user).then((n) => {
      if (!this.#usage.has(user)) this.#usage.set(user, n);
      return this.reserveQuota(user, bytes);
    });
  }

  /** Gives back a reservation whose message was not stored (duplicate or failure). */
  releaseQuota(user: string, bytes: number): void {
    const used = this.#usage.get(user);
    if (used !== undefined) this.#usage.set(user, Math.max(0, used - bytes));
  }

  /** The retention sweep: deletes old messages every recipient acknowledged (`retentionDays`). */
  async sweepRetention(): Promise<number> {
    if (!this.config.retentionDays) return 0;
    const before = this.clock.now() - this.config.retentionDays * 86_400_000;
    let total = 0;
    for (let n = SWEEP_BATCH; n === SWEEP_BATCH; total += n) {
      n = await this.store.sweepMessages(before, SWEEP_BATCH);
      await yieldToIo(); // other sockets between batches
    }
    if (total) {
      this.#usage = new LruMap(10_000);
      this.log.info("retention.sweep", { deleted: total, days: this.config.retentionDays });
    }
    return total;
  }

  /** Deletes the stored copies of disappearing messages whose time is up (issue 39.5). */
  async sweepExpired(): Promise<number> {
    let total = 0;
    for (let n = SWEEP_BATCH; n === SWEEP_BATCH; total += n) {
      n = await this.store.sweepExpired(this.clock.now(), SWEEP_BATCH);
      await yieldToIo();
    }
    if (total) this.#usage = new LruMap(10_000);
    await this.store.scrub?.(); // no copy of what any deletion took stays in the store's files
    return total;
  }

  async loadCaches(): Promise<void> {
    for (const u of await this.store.listUsers()) this.hub.users.add(u.name);
  }

  async roomMembers(room: string): Promise<Set<string> | null> {
    const c = this.hub.rooms.get(room);
    if (c) return c;
    const r = await this.store.getRoom(room);
    if (!r) return null;
    const set = new Set(r.members.map((m) => m.user));
    this.hub.rooms.set(room, set);
    return set;
  }

  async kick(actor: string, rawUser: string, banSeconds?: number, reason?: string): Promise<ActionResult> {
    const user = normalizeName(rawUser);
    if (!user || !(await this.knownUser(user))) {
      return fail(ErrorCode.NoSuchUser, `There is no user named ${rawUser}`);
    }
    if (user === actor) return fail(ErrorCode.Forbidden, "You cannot kick yourself");
    if (reason !== undefined && (reason.length > 200 || UNSAFE.test(reason))) {
      return fail(
        ErrorCode.Invalid,
        "A kick reason is at most 200 characters, without control or bidi characters",
      );
    }
    const now = this.clock.now();
    const until = banSeconds ? now + banSeconds * 1000 : null;
    const row: KickRow = { user, by: actor, at: now, bannedUntil: until, reason: reason ?? null };
    await this.store.addKick(row);
    if (until) await this.store.dropTokens(user); // a ban revokes every resume token
    const action = until ? "ban" : "kick";
    await this.store.audit({ at: now, actor, action, target: user, detail: until ? `${banSeconds}s` : "" });
    this.log.info(`admin.${action}`, { actor, target: user, seconds: banSeconds });
    const why = until
      ? `You were banned by ${actor} until ${new Date(until).toISOString()}${reason ? `: ${reason}` : ""}`
      : `You were kicked by ${actor}${reason ? `: ${reason}` : ""}`;
    let n = 0;
    for (const s of [...this.hub.sessionsOf(user)]) {
      n++;
      s.bye(until ? ErrorCode.Banned : ErrorCode.Kicked, why, until ?? undefined);
    }
    this.hub.link?.publish({
      t: "kick",
      user,
      code: until ? ErrorCode.Banned : ErrorCode.Kicked,
      reason: why,
      ...(until ? { until } : {}),
    });
    return ok(
      `${until ? "Banned" : "Kicked"} ${user}${until ? ` until ${new Date(until).toISOString()}` : ""} (${
        counted(n, "session")
      } closed)`,
    );
  }

  async unban(actor: string, rawUser: string): Promise<ActionResult> {
    const user = normalizeName(rawUser);
    if (!user || !(await this.knownUser(user))) {
      return fail(ErrorCode.NoSuchUser, `There is no user named ${rawUser}`);
    }
    const n = await this.store.liftBans(user, this.clock.now());
    await this.store.audit({ at: this.clock.now(), actor, action: "unban", target: user, detail: "" });
    this.log.info("admin.unban", { actor, target: user });
    return ok(n ? `Lifted the ban on ${user}` : `${user} was not banned`);
  }

  async unlock(actor: string, rawUser: string): Promise<ActionResult> {
    const user = normalizeName(rawUser);
    if (!user || !await this.accounts.unlock(user)) {
      return fail(ErrorCode.NoSuchUser, `There is no user named ${rawUser}`);
    }
    await this.store.audit({ at: this.clock.now(), actor, action: "unlock", target: user, detail: "" });
    this.log.info("admin.unlock", { actor, target: user });
    return ok(`Unlocked ${user}`);
  }

  /** A one-time invitation code for `--registration invite` (admins and the console). */
  async invite(
    actor: string,
  ): Promise<
    { ok: true; text: string; invite: string; expires: number } | { ok: false; code: string; msg: string }
  > {
    if (this.config.registration === "closed") {
      const msg = "Registration is closed on this server (--registration closed)";
      return { ok: false, code: ErrorCode.RegistrationClosed, msg };
    }
    const { code, expires } = await this.accounts.invites.make(actor);
    await this.store.audit({ at: this.clock.now(), actor, action: "invite", target: "", detail: "" });
    this.log.info("admin.invite", { actor });
    const note = this.config.registration === "open" ? " (registration is open here: nobody needs one)" : "";
    const when = isoSeconds(expires);
    return {
      ok: true,
      text: `Invitation code ${code}, valid once until ${when}${note}`,
      invite: code,
      expires,
    };
  }

  async setRole(actor: string, rawUser: string, role: "admin" | "user"): Promise<ActionResult> {
    const user = normalizeName(rawUser);
    const u = user ? await this.store.getUser(user) : null;
    if (!user || !u) return fail(ErrorCode.NoSuchUser, `There is no user named ${rawUser}`);
    if (u.role === role) return ok(`${user} is already ${role === "admin" ? "an admin" : "not an admin"}`);
    if (role === "user" && await this.store.countAdmins() <= 1) {
      return fail(ErrorCode.LastAdmin, `${user} is the last admin and cannot be demoted`);
    }
    await this.store.setRole(user, role);
    await this.store.audit({
      at: this.clock.now(),
      actor,
      action: role === "admin" ? "grant" : "revoke",
      target: user,
      detail: "",
    });
    this.log.info(role === "admin" ? "admin.grant" : "admin.revoke", { actor, target: user });
    const note = role === "admin" ? `${actor} made you an admin` : `${actor} revoked your admin role`;
    this.hub.link?.publish({ t: "role", user, role, note });
    for (const s of this.hub.sessionsOf(user)) {
      s.role = role;
      s.send({ t: "role", role }); // running clients lock or unlock admin commands at once
      s.send({
        t: "notice",
        level: "info",
        text: role === "admin" ? `${actor} made you an admin` : `${actor} revoked your admin role`,
      });
    }
    return ok(role === "admin" ? `${user} is now an admin` : `${user} is no longer an admin`);
  }

  /**
   * Whether `name` is registered. The hub's set is a cache: on one of several nodes a name just
   * registered elsewhere may not have reached it yet, so a miss asks the store.
   */
  async knownUser(name: string): Promise<boolean> {
    if (this.hub.users.has(name)) return true;
    if (!this.hub.link || !(await this.store.getUser(name))) return false;
    this.hub.users.add(name);
    return true;
  }

  /** A server notice to every logged-in session (not a stored chat message). */
  announce(actor: string, text: string): ActionResult {
    this.hub.toAll({ t: "notice", level: "info", text: `[${actor}] ${text}` });
    this.hub.link?.push({ t: "notice", level: "info", text: `[${actor}] ${text}` });
    this.log.info("announce", { actor });
    return ok(`Announced to ${this.hub.sessions.size} connection(s)`);
  }

  async listKicks(): Promise<KickRow[]> {
    return await this.store.listKicks(200);
  }

  /**
   * Who is online, on every node unless `localOnly`. Addresses only for admins (and the console):
   * others get "" (issue 10 item 13).
   */
  presence(
    withAddr = true,
    localOnly = false,
  ): PresenceEntry[] {
    const all = new Map<string, PresenceEntry>();
    const node = this.hub.link?.node;
    for (const [user, sessions] of this.hub.byUser) {
      const set = [...sessions].filter((s) => !s.quiet); // one-shot scripted sessions are not "online"
      let first = null;
      for (const s of set) if (!first || s.loginAt < first.loginAt) first = s;
      if (!first) continue;
      const busy = set.some((s) => s.status === "busy");
      all.set(user, {
        user,
        addr: withAddr ? first.addr : "",
        since: first.loginAt,
        status: busy ? "busy" : "free",
        role: first.role,
        ...(node ? { node } : {}),
      });
    }
    // A user on several nodes is one line: busy if busy anywhere, since the earliest login, every node.
    for (const p of localOnly ? [] : this.hub.link?.remotePresence() ?? []) {
      const q = all.get(p.user);
      if (!q) {
        all.set(p.user, { ...p, addr: withAddr ? p.addr : "" });
        continue;
      }
      if (p.status === "busy") q.status = "busy";
      if (p.since < q.since) Object.assign(q, { since: p.since, addr: withAddr ? p.addr : "" });
      if (p.node && !q.node?.split(",").includes(p.node)) q.node = q.node ? `${q.node},${p.node}` : p.node;
    }
    const out = [...all.values()];
    return out.sort((a, b) => a.user.localeCompare(b.user));
  }
}
