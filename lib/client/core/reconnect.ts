/**
 * `Reconnector`: the core's way back (chat_client.ts) after the connection ends. A network loss or server restart
 * reconnects with backoff (common/backoff.ts), a server that answers `unavailable` (its store is out of
 * reach) on the short UNAVAILABLE_BACKOFF; `/reconnect` (`now()`) at once; a ban by itself when it
 * ends (told with its end time), as after a login lockout; a plain kick, a changed password or a
 * password the server refuses never by itself (trying again would only lock the account). Each attempt
 * is said as "connection" events; a failure as a notice, once while its reason stays the same; a new
 * session is handed to the host (`adopt`). One
 * loop at a time: a loop started later (a `/reconnect` while a session was being adopted) ends the
 * one before, which takes no further attempt (two loops were two live connections of one client).
 */
import { BackendError, type BackendEvent } from "../backend.ts";
import { backoffDelay, UNAVAILABLE_BACKOFF } from "../../common/backoff.ts";
import { untilText } from "../../common/parse_time.ts";
import type { ServerSession } from "./server_session.ts";
import { systemTimers, type Timers } from "../../common/clock.ts";

/** Disconnects after which reconnecting by itself would be wrong (a ban reconnects when it ends). */
const FINAL = new Set(["kicked", "banned", "password_changed"]);

/** Whether a core that can reconnect does so by itself after disconnect `e` (at `now`; a ban: once it ends). */
export function reconnectsAfter(e: { code: string; until?: number }, now: number): boolean {
  return !FINAL.has(e.code) || (e.code === "banned" && e.until !== undefined && e.until > now);
}
/**
 * Refusals of a login that trying again cannot pass, and each try would count toward a lockout: the
 * loop stops (a lockout's end is waited for, as a ban's).
 */
const REFUSED = new Set(["bad_credentials", "locked"]);

export interface ReconnectHost {
  /** The current connection. */
  conn(): { readonly closed: boolean; close(): Promise<void> };
  /** The backend was closed: no more attempts. */
  closed(): boolean;
  now(): number;
  emit(e: BackendEvent): void;
  /** Whether the host can log in again (a UI's core); else it never reconnects. */
  canReconnect(): boolean;
  /** Logs in again on a new connection (rejects with the server's reason). */
  reconnect(): Promise<ServerSession>;
  /** A new session is logged in: the host makes it current (status, feed, outbox). */
  adopt(s: ServerSession): Promise<void>;
}

export class Reconnector {
  #reconnecting = false;
  #manual = false;
  /** Set while the backoff waits: `now()` or a ban's end ends the wait early. */
  #wake: (() => void) | null = null;
  #banTimer: unknown = null;
  /** The newest loop's number: an older loop sees it changed and stops. */
  #loops = 0;

  /** `timers`: what the loop waits on — the backoff and a ban's or lockout's end (tests fire them by hand). */
  constructor(readonly host: ReconnectHost, readonly timers: Timers = systemTimers) {}

  /** Between a lost connection and the next one taken. */
  get reconnecting(): boolean {
    return this.#reconnecting;
  }

  /** Drops the connection (if any) and connects again now (`/reconnect`). */
  now(): void {
    const { host } = this;
    if (host.closed()) return;
    if (this.#reconnecting) return this.#wake?.();
    if (host.conn().closed) return void this.#loop(true); // after a kick or ban
    this.#manual = true;
    void host.conn().close(); // the "disconnected" event starts the loop
  }

  /** The backend is closing: the wait and the ban timer end. */
  stop(): void {
    this.#wake?.();
    if (this.#banTimer !== null) this.timers.clear(this.#banTimer);
  }

  /** The connection ended (`e`): said (unless asked for), then reconnected as its reason allows. */
  async lost(e: Extract<BackendEvent, { type: "disconnected" }>): Promise<void> {
    const { host } = this, manual = this.#manual;
    this.#manual = false;
    if (!manual) host.emit(e);
    if (host.closed() || !host.canReconnect() || this.#reconnecting) return;
    if (FINAL.has(e.code) && !manual) {
      if (e.code === "banned" && e.until !== undefined && e.until > host.now()) {
        // The ban's end as the ban line says it (common/parse_time.ts: one rounding rule, issue 71.8).
        const at = untilText(e.until, host.now());
        host.emit({
          type: "notice",
          level: "info",
          text: `Parley reconnects by itself when the ban ends at ${at}; /reconnect tries now`,
        });
        this.#banTimer = this.timers.set(() => this.now(), e.until - host.now() + 1000);
      } else {
        // A changed password: the one this client holds is refused now (a try would count toward a lockout).
        const text = e.code === "password_changed"
          ? "Start Parley again with the new password to connect"
          : "Type /reconnect to connect again";
        host.emit({ type: "notice", level: "info", text });
      }
      return;
    }
    await this.#loop(manual);
  }

  async #loop(now: boolean): Promise<void> {
    const { host } = this, me = ++this.#loops;
    const superseded = () => me !== this.#loops;
    this.#reconnecting = true;
    if (this.#banTimer !== null) this.timers.clear(this.#banTimer);
    this.#banTimer = null;
    host.emit({ type: "connection", state: "offline" });
    let said = "";
    // A server that answered `unavailable` is there and says at once when it can serve again: asked
    // again on the short schedule, not after a back-off grown through the outage (issue 74).
    // `failures` counts the waits taken: a loop begun at once (`now`) has taken none before its first retry.
    let failures = now ? -1 : 0, unavailable = 0;
    for (let delay = now ? 0 : backoffDelay(0); !host.closed();) {
      if (delay > 0) await this.#wait(delay);
      if (host.closed()) break;
      if (superseded()) return;
      host.emit({ type: "connection", state: "connecting" });
      try {
        const s = await host.reconnect();
        if (host.closed() || superseded()) {
          await s.conn.close();
          break;
        }
        this.#reconnecting = false;
        await host.adopt(s);
        break;
      } catch (err) {
        // The session being adopted was dropped by a `/reconnect`, whose own loop goes on.
        if (superseded()) return;
        this.#reconnecting = true;
        host.emit({ type: "connection", state: "offline" });
        const code = err instanceof BackendError ? err.code : "";
        const final = FINAL.has(code) || REFUSED.has(code);
        delay = code === "unavailable"
          ? backoffDelay(unavailable++, UNAVAILABLE_BACKOFF)
          : backoffDelay(++failures);
        const why = `Reconnect failed: ${err instanceof Error ? err.message : err}`;
        // Said once while it stays the same (a server down for an hour is one line, not a hundred).
        if (why !== said) {
          said = why;
          host.emit({
            type: "notice",
            level: "warn",
            text: !final
              ? `${why} (Parley keeps trying; /reconnect tries now)`
              : code === "bad_credentials"
              ? `${why}. Parley stopped trying (each try counts toward a lockout): start it again with the right password`
              : why,
          });
        }
        if (final) {
          this.#reconnecting = false;
          if (err instanceof BackendError && err.until !== undefined && err.until > host.now()) {
            this.#banTimer = this.timers.set(() => this.now(), err.until - host.now() + 1000);
          }
          break;
        }
      }
    }
    if (!superseded()) this.#reconnecting = false;
  }

  #wait(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = this.timers.set(r, ms);
      this.#wake = () => (this.timers.clear(t), r());
    }).finally(() => (this.#wake = null));
  }
}
