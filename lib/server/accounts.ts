/**
 * Registration and login: name rules, who may register (open, with an admin's one-time invitation
 * code, or nobody), argon2id via the injected hasher, lockout after N failures for a period that
 * doubles per repeat up to a cap and ends by itself (the repeats are forgotten after a quiet hour
 * and on a successful login; a resume token logs in through a lockout: the account's owner keeps
 * their devices, and so does a password login proving one of its devices: key_checks.ts) — N failures from one source network (/24, /64) lock out that network only, and
 * ACCOUNT_FACTOR × N from any lock the account (issue 69 D1: three guesses an hour from one address
 * kept any chosen account's owner out) — a dummy hash for unknown users so both failures look and cost the same, and
 * per-user serialisation so parallel attempts are counted exactly. Returns results with stable
 * codes; never throws for expected failures.
 */
import type { Clock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import { sha256Hex, toHex, utf8 } from "../common/bytes.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { normalizeName } from "../protocol/names.ts";
import { MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS } from "../crypto/password.ts";
import type { LoginSourceRow, Role, Store, UserRow } from "./store/store.ts";
import { networkOf } from "../common/host_port.ts";
import { hostOf } from "./hub.ts";
import { Invites } from "./invites.ts";

export interface Hasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}

export type AuthResult =
  /** `tokenHash`: a token login's SHA-256 of the token (hex), hashed once for the check and the session. */
  | { ok: true; user: string; role: Role; tokenHash?: string }
  | { ok: false; code: string; msg: string; until?: number };

export interface AccountPolicy {
  maxAttempts: number;
  lockoutSeconds: number;
  lockoutCapSeconds: number;
  /** Who may register (`--registration`); default open. */
  registration?: "open" | "invite" | "closed";
}

/** Parameters of the stand-in hashing record (what clients choose by default: OWASP). */
const STAND_IN_KDF = { memoryKiB: 19456, iterations: 2, parallelism: 1 };
export const TOKEN_DAYS = 30;
/** Resume tokens kept per user (the oldest are revoked beyond this). */
export const MAX_TOKENS_PER_USER = 10;
/**
 * A lockout of the whole account takes this many times `maxAttempts` failures from any networks
 * (issue 69 D1); `maxAttempts` from one network lock out only that network.
 */
export const ACCOUNT_FACTOR = 10;
/** A failed login older than this no longer counts towards a lockout (15 minutes). */
export const FAIL_WINDOW_MS = 15 * 60_000;
/** Lockouts of an account with no failed login for this long after the last one ended are forgotten. */
export const LOCKOUT_QUIET_MS = 60 * 60_000;

export class Accounts {
  #dummy: Promise<string> | null = null;
  /** Moving average of one password verification, ms (0 until the first). */
  #verifyMs = 0;
  readonly #locks = new Map<string, Promise<unknown>>();
  /** One-time invitation codes (`--registration invite`). */
  readonly invites: Invites;

  constructor(
    readonly store: Store,
    readonly hasher: Hasher,
    readonly clock: Clock,
    readonly log: Logger,
    readonly policy: AccountPolicy,
  ) {
    this.invites = new Invites(store, clock);
  }

  async register(
    rawName: string,
    password: string,
    addr: string,
    kdf?: string,
    invite?: string,
  ): Promise<AuthResult> {
    const mode = this.policy.registration ?? "open";
    if (mode === "closed") {
      return {
        ok: false,
        code: ErrorCode.RegistrationClosed,
        msg: "This server takes no new accounts; ask its operator",
      };
    }
    if (mode === "invite" && !invite) {
      return {
        ok: false,
        code: ErrorCode.InviteRequired,
        msg: "This server takes new accounts by invitation only: register with --invite CODE from an admin",
      };
    }
    const name = normalizeName(rawName);
    if (!name) {
      return {
        ok: false,
        code: ErrorCode.BadName,
        msg: "Names are 1–32 letters, digits, '_', '-' or '.', starting with a letter or digit",
      };
    }
    const pw = checkPassword(password);
    if (pw) return pw;
    if (await this.store.getUser(name)) return taken(name);
    // The code is used up only by a registration that gets this far (a taken name keeps it).
    const inv = mode === "invite" ? await this.invites.take(invite!) : null;
    if (mode === "invite" && !inv) {
      return {
        ok: false,
        code: ErrorCode.BadInvite,
        msg: "That invitation code is not valid (used, expired or mistyped); ask an admin for a new one",
      };
    }
    let made = false;
    try {
      const hash = await this.hasher.hash(password);
      made = await this.store.createUser({ name, hash, role: "user", createdAt: this.clock.now(), kdf });
    } finally {
      if (inv && !made) await inv.giveBack(); // a failed registration (or a busy hasher) keeps the code
    }
    if (!made) return taken(name);
    if (inv) {
      const at = this.clock.now();
      await this.store.audit({ at, actor: inv.by, action: "invite.used", target: name, detail: addr });
    }
    this.log.info("register", { user: name, addr, ...(inv ? { invitedBy: inv.by } : {}) });
    return { ok: true, user: name, role: "user" };
  }

  /** `proven`: the login proved one of the account's devices (key_checks.ts): no lockout stops it. */
  login(rawName: string, password: string, addr: string, proven = false): Promise<AuthResult> {
    const name = normalizeName(rawName) ?? "";
    // Serialise attempts per account so that failures are counted exactly.
    const prev = this.#locks.get(name) ?? Promise.resolve();
    const next = prev.then(() => this.#login(name, password, addr, proven));
    const tail = next.catch(() => {});
    this.#locks.set(name, tail);
    tail.then(() => {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    });
    return next;
  }

  async #login(name: string, password: string, addr: string, proven: boolean): Promise<AuthResult> {
    const bad: AuthResult = { ok: false, code: ErrorCode.BadCredentials, msg: "Wrong user name or password" };
    if (utf8.encode(password).length > MAX_PASSWORD_BYTES) return bad;
    const u = name ? await this.store.getUser(name) : null;
    if (!u) {
      await this.hasher.verify(password, await this.#dummyHash());
      return bad;
    }
    const now = this.clock.now();
    const net = networkOf(hostOf(addr));
    const src = await this.store.loginSource(name, net);
    const until = Math.max(src?.lockedUntil ?? 0, u.lockedUntil);
    if (until > now && !proven) {
      // As slow as an attempt that hashes (its time says nothing more than its words), without
      // spending a hash: a storm on a locked account stays cheap.
      await new Promise((r) => setTimeout(r, this.#verifyMs));
      this.log.warn("login.locked", { user: name, addr });
      return lockedResult(name, until);
    }
    if (await this.#timedVerify(password, u.hash)) {
      // The owner is back: failures and past lockouts are forgotten (the next lockout is the shortest).
      if (u.failed > 0 || u.lockedUntil > 0 || u.lockouts > 0) {
        await this.store.setLoginState(name, { failed: 0, lockedUntil: 0, lockouts: 0 });
      }
      if (src) await this.store.setLoginSource(name, net, null);
      return { ok: true, user: name, role: u.role };
    }
    return await this.#failed(u, net, src, addr) ?? bad;
  }

  /**
   * Counts a failed login (issue 69 D1) against its source network — `maxAttempts` of them lock
   * that network out of the account — and against the account, which only `ACCOUNT_FACTOR` times
   * as many lock for everyone (guesses spread over many networks). Failures decay: one older than
   * FAIL_WINDOW_MS no longer counts, and past lockouts no longer lengthen the next after a quiet
   * LOCKOUT_QUIET_MS. The locked answer, or null for a plain wrong password.
   */
  async #failed(
    u: UserRow,
    net: string,
    src: LoginSourceRow | null,
    addr: string,
  ): Promise<AuthResult | null> {
    const now = this.clock.now();
    const name = u.name;
    if (!src) {
      await this.store.pruneLoginSources(name, now - LOCKOUT_QUIET_MS - this.policy.lockoutCapSeconds * 1000);
    }
    const s = decayed(src ?? { failed: 0, failedAt: 0, lockedUntil: 0, lockouts: 0 }, now);
    const a = decayed(u, now);
    let until = 0;
    if (a.failed >= this.policy.maxAttempts * ACCOUNT_FACTOR) {
      until = await this.#lockOut(name, a.lockouts, `from many networks, the last ${addr}`, addr);
      await this.store.setLoginState(name, { failed: 0, lockedUntil: until, lockouts: a.lockouts + 1 });
    } else {
      await this.store.setLoginState(name, { ...a, lockedUntil: u.lockedUntil, failedAt: now });
    }
    if (s.failed >= this.policy.maxAttempts) {
      const end = await this.#lockOut(name, s.lockouts, `from ${addr} (${net})`, addr);
      await this.store.setLoginSource(name, net, {
        failed: 0,
        failedAt: now,
        lockedUntil: end,
        lockouts: s.lockouts + 1,
      });
      until = Math.max(until, end);
    } else {
      await this.store.setLoginSource(name, net, { ...s, lockedUntil: src?.lockedUntil ?? 0, failedAt: now });
    }
    if (until) return lockedResult(name, until);
    this.log.info("login.failed", { user: name, addr, failed: s.failed, failedAll: a.failed });
    return null;
  }

  /** A lockout's end after `lockouts` earlier ones, logged and audited (`detail`: whom it keeps out). */
  async #lockOut(name: string, lockouts: number, detail: string, addr: string): Promise<number> {
    const now = this.clock.now();
    const secs = lockoutSeconds(this.policy, lockouts);
    const until = now + secs * 1000;
    this.log.warn("lockout", {
      user: name,
      addr,
      seconds: secs,
      until: new Date(until).toISOString(),
      detail,
    });
    await this.store.audit({
      at: now,
      actor: "server",
      action: "lockout",
      target: name,
      detail: `${secs}s ${detail}`,
    });
    return until;
  }

  /** Issues a resume token (64 hex digits) valid for `TOKEN_DAYS`; only its hash is stored. */
  async issueToken(user: string): Promise<string> {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const token = toHex(raw);
    const now = this.clock.now();
    await this.store.addToken(user, await sha256Hex(token), now + TOKEN_DAYS * 86400_000);
    await this.store.pruneTokens(user, MAX_TOKENS_PER_USER, now); // expired ones go; the newest 10 stay
    return token;
  }

  /**
   * Logs in with a resume token: no password hash, and no lockout either: a lockout stops password
   * guessing, and a token (256 random bits, given to a device that logged in) is no guess. So
   * anyone who locks an account by trying passwords cannot lock its owner's devices out. Bans apply.
   */
  async loginToken(rawName: string, token: string): Promise<AuthResult> {
    const name = normalizeName(rawName) ?? "";
    const tokenHash = await sha256Hex(token);
    const owner = await this.store.tokenOwner(tokenHash, this.clock.now());
    if (owner?.user !== name) {
      return {
        ok: false,
        code: ErrorCode.BadCredentials,
        msg: "That login token is not valid; log in with your password",
      };
    }
    return { ok: true, user: name, role: owner.role, tokenHash };
  }

  /**
   * The client-side hashing record of `rawName`; for an unknown account, or one from before the
   * records, a stand-in that looks the same (salt from the data folder's secret, default parameters).
   */
  async kdfOf(rawName: string): Promise<Record<string, unknown>> {
    const name = normalizeName(rawName) ?? rawName;
    const u = await this.store.getUser(name);
    if (u?.kdf) return JSON.parse(u.kdf);
    const salt = (await sha256Hex(`${await this.store.serverSecret()}\0kdf-salt\0${name}`)).slice(0, 32);
    return { salt, ...STAND_IN_KDF };
  }

  /**
   * Replaces `name`'s credential and hashing record, given the current password or credential
   * (an account logging in with its password upgrades itself this way).
   */
  async rekey(name: string, old: string, credential: string, kdf: string): Promise<AuthResult> {
    const u = await this.store.getUser(name);
    const pw = checkPassword(credential);
    if (pw) return pw;
    if (!u || utf8.encode(old).length > MAX_PASSWORD_BYTES || !await this.hasher.verify(old, u.hash)) {
      return { ok: false, code: ErrorCode.BadCredentials, msg: "The current password is wrong" };
    }
    await this.store.setCredential(name, await this.hasher.hash(credential), kdf);
    this.log.info("account.rekey", { user: name });
    return { ok: true, user: name, role: u.role };
  }

  /** Lifts a lockout, the account's and every source network's (admin action). */
  async unlock(name: string): Promise<boolean> {
    const u = await this.store.getUser(name);
    if (!u) return false;
    await this.store.setLoginState(name, { failed: 0, lockedUntil: 0, lockouts: 0 });
    await this.store.pruneLoginSources(name, null);
    return true;
  }

  /** Verifies and keeps a moving average of how long a verification takes (for locked answers). */
  async #timedVerify(password: string, hash: string): Promise<boolean> {
    const t0 = performance.now();
    const ok = await this.hasher.verify(password, hash);
    const ms = performance.now() - t0;
    this.#verifyMs = this.#verifyMs === 0 ? ms : this.#verifyMs * 0.8 + ms * 0.2;
    return ok;
  }

  #dummyHash(): Promise<string> {
    this.#dummy ??= this.hasher.hash("parley-dummy-password-for-timing");
    return this.#dummy;
  }
}

/** The length of the lockout after `lockouts` earlier ones: doubling from the first, never over the cap. */
/** A failure count with the failures and lockouts that no longer count dropped, and this failure added. */
function decayed(r: LoginSourceRow, now: number): { failed: number; lockouts: number } {
  return {
    failed: (now - r.failedAt > FAIL_WINDOW_MS ? 0 : r.failed) + 1,
    lockouts: now - Math.max(r.failedAt, r.lockedUntil) > LOCKOUT_QUIET_MS ? 0 : r.lockouts,
  };
}

export function lockoutSeconds(p: AccountPolicy, lockouts: number): number {
  return Math.min(p.lockoutCapSeconds, p.lockoutSeconds * 2 ** Math.min(lockouts, 30));
}

export function lockedResult(name: string, until: number): AuthResult {
  return {
    ok: false,
    code: ErrorCode.Locked,
    msg: `Account ${name} is locked until ${new Date(until).toISOString()} after too many failed logins`,
    until,
  };
}

function taken(name: string): AuthResult {
  return { ok: false, code: ErrorCode.NameTaken, msg: `The name ${name} is already taken` };
}

function checkPassword(pw: string): AuthResult | null {
  if (utf8.encode(pw).length > MAX_PASSWORD_BYTES) {
    return {
      ok: false,
      code: ErrorCode.WeakPassword,
      msg: `Passwords are at most ${MAX_PASSWORD_BYTES} bytes`,
    };
  }
  if ([...pw].length < MIN_PASSWORD_CHARS) {
    return {
      ok: false,
      code: ErrorCode.WeakPassword,
      msg: `Passwords need at least ${MIN_PASSWORD_CHARS} characters`,
    };
  }
  return null;
}
