/** Handlers for hello, register, login, ping, presence and status requests. */
import { normalizeName } from "../protocol/names.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { PROTOCOL_VERSION, type Request } from "../protocol/messages.ts";
import type { Core } from "./core.ts";
import type { UserRow } from "./store/store.ts";
import { activeDevices } from "./handlers_devices.ts";
import type { Session } from "./session.ts";
import type { KeyedBuckets, TokenBucket } from "./rate.ts";
import { hostOf } from "./hub.ts";
import { loginDeviceProven } from "./key_checks.ts";
import { randomId } from "../common/random.ts";
import { StoreUnavailable } from "./store/store_errors.ts";
import { STORE_UNAVAILABLE_TEXT } from "./send_reply.ts";
import { HashQueueFull } from "../crypto/password.ts";

/** The answer to a login or registration the password hashing cannot take now (its queue full). */
export const HASH_BUSY_TEXT = "The server is too busy to check passwords right now; try again";

export async function hello(c: Core, s: Session, m: Request<"hello">): Promise<void> {
  if (m.v !== PROTOCOL_VERSION) {
    s.fail(m.id, ErrorCode.BadVersion, `This server speaks protocol version ${PROTOCOL_VERSION}, not ${m.v}`);
    return;
  }
  s.state = "auth";
  s.nonce = randomId(); // what device proofs of this session sign (issue 33)
  s.quiet = m.quiet === true;
  s.shortPresence = m.shortPresence === true;
  // maxFrame: clients refuse an over-long message before queueing it (issue 34.1).
  s.reply(m.id, {
    v: PROTOCOL_VERSION,
    server: "parley",
    time: c.clock.now(),
    nonce: s.nonce,
    maxFrame: c.config.maxFrame,
    version: c.config.version, // a client of another major.minor says so (issue 38.5)
  });
  await Promise.resolve();
}

/** The flood limits of logging in and registering (lib/common/rate.ts buckets). */
export interface AuthLimits {
  /**
   * Failed password attempts per address: each attempt takes a token before it is checked (so a
   * burst of guesses is bounded), a success gives it back. People sharing one address (a NAT)
   * who log in right are never throttled; resume-token logins never take one.
   */
  login: KeyedBuckets;
  /** Accounts made per address (a registration that fails gives its token back). */
  register: KeyedBuckets;
  /** Accounts made on the whole server. */
  registerAll: TokenBucket;
}

/** Answers a login or registration the server could not finish: a storm past the hashing queue, a store out of reach, a bug. */
function failAuth(c: Core, s: Session, id: number, e: unknown): void {
  if (e instanceof HashQueueFull) {
    // A login storm past the hashing queue's bound: refused at once, never queued without end.
    c.log.warn("auth.busy", { addr: s.addr });
    return s.fail(id, ErrorCode.Unavailable, HASH_BUSY_TEXT);
  }
  if (e instanceof StoreUnavailable) {
    c.log.warn("auth.error", { addr: s.addr, code: ErrorCode.Unavailable, error: String(e) });
    return s.fail(id, ErrorCode.Unavailable, STORE_UNAVAILABLE_TEXT);
  }
  c.log.error("auth.error", { addr: s.addr, error: String(e) });
  s.fail(id, ErrorCode.Unavailable, HASH_BUSY_TEXT);
}

export function makeAuth(limits: AuthLimits) {
  async function authenticate(c: Core, s: Session, m: Request<"login" | "register">): Promise<void> {
    if (s.state === "ready") return s.fail(m.id, ErrorCode.AlreadyAuthenticated, "You are already logged in");
    if (m.t === "login" && m.token === undefined && m.password === undefined) {
      return s.fail(m.id, ErrorCode.Invalid, "Give a password or a token");
    }
    const host = hostOf(s.addr);
    const guess = !(m.t === "login" && m.token !== undefined); // a password (or credential) is checked
    if (guess && !limits.login.take(host)) {
      c.log.warn("login.throttled", { addr: s.addr });
      return s.fail(
        m.id,
        ErrorCode.Throttled,
        "Too many failed logins from your address; wait a minute and try again",
      );
    }
    if (m.t === "register") {
      const refused = registerRefusal(c, limits, host);
      if (refused) {
        limits.login.give(host);
        c.log.warn("register.refused", { addr: s.addr, code: refused.code });
        return s.fail(m.id, refused.code, refused.msg);
      }
    }
    let r;
    s.checkBegins();
    try {
      if (m.t === "register") {
        r = await c.accounts.register(m.user, m.password, s.addr, m.kdf && JSON.stringify(m.kdf), m.invite);
      } else if (m.token !== undefined) r = await c.accounts.loginToken(m.user, m.token);
      else { // one of the two, checked above; a proven device goes through a lockout
        const proven = await loginDeviceProven(c, s, normalizeName(m.user) ?? "", m);
        r = await c.accounts.login(m.user, m.password ?? "", s.addr, proven);
      }
    } catch (e) {
      if (guess) limits.login.give(host); // the server's fault, not a guess
      if (m.t === "register") giveRegister(limits, host);
      return failAuth(c, s, m.id, e);
    } finally {
      s.checkEnds(c.clock.now());
    }
    if (r.ok && guess) limits.login.give(host); // only failures count against an address
    if (!r.ok && m.t === "register") giveRegister(limits, host); // no account was made
    if (s.state === "closed") return;
    c.metrics.login(r.ok, m.t);
    if (!r.ok) return s.fail(m.id, r.code, r.msg, r.until);
    const ban = await c.store.activeBan(r.user, c.clock.now());
    if (ban?.bannedUntil) {
      c.log.info("login.banned", { user: r.user, addr: s.addr });
      return s.fail(
        m.id,
        ErrorCode.Banned,
        `You are banned until ${new Date(ban.bannedUntil).toISOString()}`,
        ban.bannedUntil,
      );
    }
    if (!c.hub.users.has(r.user)) c.hub.link?.publish({ t: "user", user: r.user });
    c.hub.users.add(r.user);
    s.user = r.user;
    s.role = r.role;
    s.state = "ready";
    s.loginAt = c.clock.now();
    if (r.tokenHash) s.tokenHash = r.tokenHash; // (`logout` revokes the token this session logged in with)
    const first = c.hub.login(s);
    c.log.info("login", { user: r.user, addr: s.addr, via: m.t });
    const token = m.t === "login" && m.remember ? await c.accounts.issueToken(r.user) : undefined;
    s.reply(m.id, token ? { user: r.user, role: r.role, token } : { user: r.user, role: r.role });
    if (first) c.hub.presence({ user: s.user, online: true, status: s.status, since: s.loginAt });
  }
  return authenticate;
}

/**
 * Why a registration is refused before any work (low disk, too many accounts made from this address
 * or on the server lately), or null; when null, one account's tokens are taken from both limits.
 */
function registerRefusal(c: Core, limits: AuthLimits, host: string): { code: string; msg: string } | null {
  const low = c.dataSpaceRefusal();
  if (low) return low;
  if (!limits.register.take(host)) {
    return {
      code: ErrorCode.Throttled,
      msg: "Too many accounts were made from your address lately; try again in an hour",
    };
  }
  if (!limits.registerAll.take()) {
    limits.register.give(host);
    return {
      code: ErrorCode.Throttled,
      msg: "The server is taking no more new accounts for now; try again in an hour",
    };
  }
  return null;
}

function giveRegister(limits: AuthLimits, host: string): void {
  limits.register.give(host);
  limits.registerAll.give();
}

/** The account's client-side hashing record, asked before logging in (see Accounts.kdfOf). */
export async function kdf(c: Core, s: Session, m: Request<"kdf">): Promise<void> {
  s.reply(m.id, { kdf: await c.accounts.kdfOf(m.user) });
}

/** Replaces the session user's credential and hashing record, given the current one. */
export async function rekey(c: Core, s: Session, m: Request<"account.rekey">): Promise<void> {
  const r = await c.accounts.rekey(s.user, m.old, m.password, JSON.stringify(m.kdf));
  if (!r.ok) return s.fail(m.id, r.code, r.msg);
  s.reply(m.id, {});
}

/**
 * A password change (`parley passwd`, issue 33): the new credential replaces the current one (given),
 * every resume token of the account is revoked (with `remember`, the reply carries the one new
 * token), and every other session of the account ends, on every node.
 */
export async function passwd(c: Core, s: Session, m: Request<"account.passwd">): Promise<void> {
  const r = await c.accounts.rekey(s.user, m.old, m.password, JSON.stringify(m.kdf));
  if (!r.ok) return s.fail(m.id, r.code, r.msg);
  await c.store.dropTokens(s.user);
  s.tokenHash = "";
  const token = m.remember ? await c.accounts.issueToken(s.user) : undefined;
  const at = c.clock.now();
  await c.store.audit({ at, actor: s.user, action: "account.passwd", target: s.user, detail: "" });
  c.log.info("account.passwd", { user: s.user, addr: s.addr });
  s.reply(m.id, token ? { token } : {});
  const why = "The account's password was changed: log in with the new one";
  for (const x of [...c.hub.sessionsOf(s.user)]) if (x !== s) x.bye(ErrorCode.PasswordChanged, why);
  c.hub.link?.publish({ t: "kick", user: s.user, code: ErrorCode.PasswordChanged, reason: why });
}

export async function ping(c: Core, s: Session, m: Request<"ping">): Promise<void> {
  s.reply(m.id, { now: c.clock.now() }); // now: the server's clock (watch together's offset)
  await Promise.resolve();
}

export async function who(c: Core, s: Session, m: Request<"who">): Promise<void> {
  s.reply(m.id, { users: c.presence(s.role === "admin") });
  await Promise.resolve();
}

export async function whois(c: Core, s: Session, m: Request<"whois">): Promise<void> {
  const name = normalizeName(m.user);
  const u = name ? await c.store.getUser(name) : null;
  if (!u) return s.fail(m.id, ErrorCode.NoSuchUser, `There is no user named ${m.user}`);
  const p = c.presence(s.role === "admin").find((x) => x.user === name) ?? null;
  s.reply(m.id, { user: name, role: u.role, registered: u.createdAt, presence: p });
}

/**
 * Every registered user, or those of `names` that exist: names and roles for anyone (encrypted
 * broadcast needs them), details for admins.
 */
export async function users(c: Core, s: Session, m: Request<"users">): Promise<void> {
  // Device ids too: encrypting clients address every device of every member (issue 9).
  const all = m.names ? await named(c, m.names) : await c.store.listUsers();
  const devices = new Map<string, number[]>();
  for (const u of all) devices.set(u.name, await activeDevices(c, u.name));
  if (s.role !== "admin") {
    s.reply(m.id, { users: all.map((u) => ({ user: u.name, role: u.role, devices: devices.get(u.name) })) });
    return;
  }
  const online = new Set([...c.hub.byUser.keys()].filter((u) => c.hub.visible(u))); // as `who`
  const list = all.map((u) => ({
    user: u.name,
    role: u.role,
    devices: devices.get(u.name),
    registered: u.createdAt,
    online: online.has(u.name),
    lockedUntil: u.lockedUntil > c.clock.now() ? u.lockedUntil : undefined,
  }));
  s.reply(m.id, { users: list });
}

/** The users of `names` that exist, once each (a room's members: no read of every user). */
async function named(c: Core, names: readonly string[]): Promise<UserRow[]> {
  const want = new Set(names.map(normalizeName).filter((n): n is string => n !== null));
  const rows: UserRow[] = [];
  for (const n of want) {
    const u = await c.store.getUser(n);
    if (u) rows.push(u);
  }
  return rows;
}

export async function status(c: Core, s: Session, m: Request<"status">): Promise<void> {
  for (const x of c.hub.sessionsOf(s.user)) x.status = m.status;
  const change = { user: s.user, online: true, status: m.status, since: s.loginAt };
  // A quiet session alone is not online: its status shows once an interactive one logs in.
  if (c.hub.visible(s.user)) c.hub.presence(change);
  // Other nodes: at once, not on the next heartbeat (their copy of this node's presence is refreshed too).
  c.hub.link?.publish({ t: "status", user: s.user, status: m.status, since: s.loginAt });
  c.hub.link?.localChanged();
  s.reply(m.id, { status: m.status });
  await Promise.resolve();
}

/**
 * Ends this session and revokes the resume token it logged in with; `all: true` revokes every
 * token of the user (a lost device), so only a password login works again.
 */
export async function logout(c: Core, s: Session, m: Request<"logout">): Promise<void> {
  let revoked = 0;
  if (m.all) {
    await c.store.dropTokens(s.user);
    revoked = -1;
  } else if (s.tokenHash && await c.store.dropToken(s.tokenHash)) revoked = 1;
  c.log.info("logout", { user: s.user, all: m.all === true });
  s.reply(m.id, { revoked: revoked < 0 ? "all" : revoked });
  s.bye(ErrorCode.LoggedOut, "Logged out");
}
