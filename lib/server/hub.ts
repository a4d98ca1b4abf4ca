/**
 * Who is connected and where messages go. Keeps sessions by user, the room-membership cache and
 * the set of registered names; fans one encoded frame out to every recipient session (the bytes
 * are shared, never re-encoded per recipient). No I/O besides pushing into outboxes.
 *
 * Presence changes are batched: `presence()` records the latest change per user and, once per
 * PRESENCE_TICK_MS, one frame carrying every change of that tick goes to each live session
 * (`presence` for one change; for several, `presences` with compact lists: `on` of
 * [user, status, since] and `off` of user names, ~30 bytes a change instead of ~65, since every
 * live session receives every change; to a client that reads the short form, a login of the tick
 * is its user's name alone, ~8 bytes: in C with 2,000 synced connections presence was 60 MB of TLS
 * writes, 82 µs of server CPU per connection). A login storm of K users then
 * costs each live session one frame per tick, not K frames: O(N) per tick instead of O(N·K).
 * The tick grows with the number of live sessions N (`presenceTickMs`) so that presence costs at
 * most PRESENCE_FRAMES_PER_SEC frames a second however many are connected: 50 ms up to 100 live
 * sessions, 500 ms at 1,000, capped at PRESENCE_TICK_MAX_MS.
 */
import { encodeFrame, frameOfJson } from "../protocol/frame.ts";
import { type MsgFields, msgFrameMost, msgJson } from "../protocol/frame_put.ts";
import { COPY_MAX } from "./outbox.ts";
import { type Outbound, SHORT_SINCE_MS, type Target } from "../protocol/messages.ts";
import type { Session } from "./session.ts";
import { type MetricsHooks, NO_METRICS } from "./metrics.ts";
import type { NewMessage, StoredMessage } from "./store/store.ts";
import type { BusEvent, PresenceEntry } from "./bus/bus.ts";
import { systemTimers, type Timers } from "../common/clock.ts";

/** The other nodes, when there are any (lib/server/cluster.ts). */
export interface HubLink {
  /** This node's id, shown beside its users in `who` and `/active`. */
  readonly node: string;
  publish(e: BusEvent): void;
  push(h: Outbound, users?: string[]): void;
  beforeAppend(batch: readonly NewMessage[], from: readonly (Session | null)[]): void;
  /** Returns true: the link fans the stored rows out (in seq order), not the caller. */
  afterAppend(batch: readonly NewMessage[], rows: readonly (StoredMessage | null)[]): boolean;
  localChanged(): void;
  /** `user` has a first session here, quiet or not (cluster_route.ts: the route epoch moves on). */
  userCame?(): void;
  remotePresence(): PresenceEntry[];
}

/** How long presence changes wait to be sent together (the shortest tick). */
export const PRESENCE_TICK_MS = 50;
/** The longest tick, however many sessions are live. */
export const PRESENCE_TICK_MAX_MS = 1000;
/** Presence frames a second (one per live session per tick) the tick is sized to stay under. */
export const PRESENCE_FRAMES_PER_SEC = 2000;

/** The presence tick for `live` sessions following the live feed. */
export function presenceTickMs(live: number): number {
  return Math.min(
    PRESENCE_TICK_MAX_MS,
    Math.max(PRESENCE_TICK_MS, Math.ceil((live * 1000) / PRESENCE_FRAMES_PER_SEC)),
  );
}

/**
 * The `presences` frame of several changes (messages.ts); `short`: its short form, where a user who
 * came online free at most SHORT_SINCE_MS before the newest such login (`at`) is named alone.
 */
function presencesFrame(changes: readonly PresenceChange[], short: boolean): Outbound {
  const on = changes.filter((c) => c.online), off = changes.filter((c) => !c.online).map((c) => c.user);
  const full = (c: PresenceChange): [string, string, number] => [c.user, c.status ?? "free", c.since ?? 0];
  if (!short) return { t: "presences", on: on.map(full), off };
  const free = (c: PresenceChange) => (c.status ?? "free") === "free" && c.since !== undefined;
  let at = 0;
  for (const c of on) if (free(c) && c.since! > at) at = c.since!; // (a loop: a storm's tick is long)
  return {
    t: "presences",
    at,
    on: on.map((c) => free(c) && at - c.since! <= SHORT_SINCE_MS ? c.user : full(c)),
    off,
  };
}

/** One user's presence change, as pushed to live sessions. */
export type PresenceChange = { user: string; online: boolean; status?: string; since?: number };

export class Hub {
  readonly sessions = new Set<Session>();
  readonly byUser = new Map<string, Set<Session>>();
  readonly byAddr = new Map<string, number>();
  /** Registered user names. */
  readonly users = new Set<string>();
  /** Room name → member names (cache of the store). */
  readonly rooms = new Map<string, Set<string>>();
  /** Set while this node is one of several. */
  link: HubLink | null = null;
  /** Deliveries are counted here (the server sets its Metrics). */
  metrics: MetricsHooks = NO_METRICS;
  readonly #presence = new Map<string, PresenceChange>();
  #presenceTimer: unknown = null;
  /** Live sessions counted at the last presence flush (sizes the next tick). */
  #live = 0;
  #closed = false;
  /** Presence frames pushed so far (one per live session per tick). */
  presenceFrames = 0;
  /** Stream events from other nodes (set by the StreamRelay). */
  streamEvents: ((from: string, e: Extract<BusEvent, { t: "stream" }>) => void) | null = null;

  /** `timers`: the presence tick's (tests fire it by hand). */
  constructor(readonly timers: Timers = systemTimers) {}

  add(s: Session): void {
    this.sessions.add(s);
    this.byAddr.set(hostOf(s.addr), (this.byAddr.get(hostOf(s.addr)) ?? 0) + 1);
  }

  /**
   * Returns true when `s` is the user's first visible session (presence goes online). Quiet sessions
   * (one-shot scripted commands) receive messages but never count for presence.
   */
  login(s: Session): boolean {
    let set = this.byUser.get(s.user);
    if (!set) this.byUser.set(s.user, set = new Set());
    set.add(s);
    if (set.size === 1) this.link?.userCame?.();
    const first = !s.quiet && !this.visible(s.user, s);
    if (first) this.link?.localChanged();
    return first;
  }

  /** True when `user` has a session here that is not quiet (other than `except`). */
  visible(user: string, except?: Session): boolean {
    for (const x of this.byUser.get(user) ?? []) if (x !== except && !x.quiet) return true;
    return false;
  }

  /** Removes a session; returns true when it was the user's last visible one (presence goes offline). */
  remove(s: Session): boolean {
    if (!this.sessions.delete(s)) return false;
    const h = hostOf(s.addr);
    const n = (this.byAddr.get(h) ?? 1) - 1;
    if (n <= 0) this.byAddr.delete(h);
    else this.byAddr.set(h, n);
    const set = this.byUser.get(s.user);
    if (!set || !set.delete(s)) return false;
    if (set.size === 0) this.byUser.delete(s.user);
    if (s.quiet || this.visible(s.user)) return false;
    this.link?.localChanged();
    return true;
  }

  connectionsFrom(addr: string): number {
    return this.byAddr.get(hostOf(addr)) ?? 0;
  }

  /** The members of `room` as the hub knows them (for signals; messages use `fanOut`). */
  roomUsers(room: string): Iterable<string> {
    return this.rooms.get(room) ?? [];
  }

  sessionsOf(user: string): Iterable<Session> {
    return this.byUser.get(user) ?? [];
  }

  /** Calls `fn` with each of `user`'s sessions (as `sessionsOf`, without an iterator object). */
  eachSessionOf(user: string, fn: (s: Session) => void): void {
    this.byUser.get(user)?.forEach(fn);
  }

  /** Sends a header-only frame to every logged-in session (encoded once). */
  toAll(h: Outbound, except?: Session): void {
    const f = encodeFrame(h);
    for (const s of this.sessions) if (s.state === "ready" && s !== except) s.outbox.push(f);
  }

  /**
   * Queues a presence change for the next tick (a later change of the same user replaces it).
   * Presence goes to sessions following the live feed (after `sync`) only: one-shot scripted
   * sessions do not need it.
   */
  presence(change: PresenceChange): void {
    if (this.#closed) return;
    this.#presence.delete(change.user); // re-inserted: the latest change is sent, in change order
    this.#presence.set(change.user, change);
    this.#presenceTimer ??= this.timers.set(() => this.flushPresence(), presenceTickMs(this.#live));
  }

  /**
   * Sends the queued presence changes now: one frame to each live session (several changes: the
   * short form to the sessions that read it, each form encoded once, when some session takes it).
   */
  flushPresence(): void {
    if (this.#presenceTimer !== null) this.timers.clear(this.#presenceTimer);
    this.#presenceTimer = null;
    if (this.#presence.size === 0) return;
    const changes = [...this.#presence.values()];
    this.#presence.clear();
    let full: Uint8Array | null = null, short: Uint8Array | null = null, live = 0;
    for (const s of this.sessions) {
      if (s.delivery !== "live") continue;
      live++;
      const f = changes.length === 1
        ? full ??= encodeFrame({ t: "presence", ...changes[0]! })
        : s.shortPresence
        ? short ??= encodeFrame(presencesFrame(changes, true))
        : full ??= encodeFrame(presencesFrame(changes, false));
      if (s.outbox.push(f)) this.presenceFrames++;
    }
    this.#live = live;
  }

  /** Stops presence pushes (shutdown): nothing queued is sent and no timer stays behind. */
  close(): void {
    this.#closed = true;
    if (this.#presenceTimer !== null) this.timers.clear(this.#presenceTimer);
    this.#presenceTimer = null;
    this.#presence.clear();
  }

  toUsers(users: Iterable<string>, h: Outbound): void {
    const f = encodeFrame(h);
    for (const u of users) for (const s of this.sessionsOf(u)) s.outbox.push(f);
  }

  /** Fans a stored message out to its recipients' sessions (not the sending session); returns how many frames were queued. */
  fanOut(m: StoredMessage, from: Session | null): number {
    const fields = fieldsInto(FIELDS, NAMED, m, undefined); // (issue 37: no object per message)
    // A DM's small frame (one or two sessions get it) is written straight into each one's send
    // buffer (without its text when it can: putMsgFrame); a room's or a big one is encoded once and
    // queued as it is in each.
    if (m.kind === "user" && msgFrameMost(fields, m.body.length) <= COPY_MAX) {
      let n = 0, bytes = 0; // (loops, not a callback: no closure made per message)
      for (let k = 0; k < 2; k++) {
        const u = k === 0 ? m.target : m.sender;
        if (k === 1 && u === m.target) break;
        const set = this.byUser.get(u);
        if (set) {
          for (const s of set) {
            const b = s === from ? 0 : s.deliverMsg(m.seq, fields, m.body);
            if (b > 0) n++, bytes += b;
          }
        }
      }
      this.metrics.delivered(n, bytes);
      return n;
    }
    const frame = frameOfJson(msgJson(fields), m.body);
    let n = 0;
    if (m.kind === "broadcast") {
      for (const s of this.sessions) {
        if (s.state === "ready" && s !== from) n += s.deliver(m.seq, frame);
      }
    } else if (m.kind === "room") {
      for (const u of this.rooms.get(m.target) ?? []) n += this.#deliverTo(u, from, m.seq, frame);
    } else {
      n += this.#deliverTo(m.target, from, m.seq, frame);
      if (m.target !== m.sender) n += this.#deliverTo(m.sender, from, m.seq, frame);
    }
    this.metrics.delivered(n, n * frame.length);
    return n;
  }

  /** Delivers `frame` to `user`'s sessions but `from`; how many took it. */
  #deliverTo(user: string, from: Session | null, seq: number, frame: Uint8Array): number {
    const set = this.byUser.get(user);
    if (!set) return 0;
    let n = 0;
    for (const s of set) if (s !== from) n += s.deliver(seq, frame);
    return n;
  }
}

export function wireTarget(m: { kind: string; target: string }): Target {
  return targetInto({ kind: "user", name: "" }, m);
}

export function hostOf(addr: string): string {
  const i = addr.lastIndexOf(":");
  return i > 0 ? addr.slice(0, i) : addr;
}

/**
 * The header of a stored message's `msg` frame (`req`: the history request it answers) as JSON,
 * written by hand (frame_put.ts `msgJson`): one per stored message.
 */
export function msgText(m: StoredMessage, req?: number): string {
  return msgJson(msgFields(m, req));
}

/** `fanOut`'s `msg` fields: one object, refilled for each message (nothing keeps it past the call). */
const NAMED: Named = { kind: "user", name: "" };
const FIELDS: MsgFields = { seq: 0, mid: "", from: "", to: NAMED, ts: 0, conv: "", req: undefined };
/** The one broadcast target (frozen: every header of a broadcast shares it). */
const BROADCAST: Target = Object.freeze({ kind: "broadcast" });

type Named = { kind: "user" | "room"; name: string };

/** `m`'s target on the wire: `t` filled with a named one's kind and name, or the broadcast target. */
function targetInto(t: Named, m: { kind: string; target: string }): Target {
  if (m.kind === "broadcast") return BROADCAST;
  t.kind = m.kind as Named["kind"];
  t.name = m.target;
  return t;
}

/** `f` (its `to`: `t`) filled with the fields of `m`'s `msg` header (`req`: the history request it answers). */
function fieldsInto(f: MsgFields, t: Named, m: StoredMessage, req: number | undefined): MsgFields {
  f.seq = m.seq;
  f.mid = m.mid;
  f.from = m.sender;
  f.to = targetInto(t, m);
  f.ts = m.ts;
  f.conv = m.conv;
  f.req = req;
  return f;
}

/** The fields of a stored message's `msg` header (`req`: the history request it answers). */
export function msgFields(m: StoredMessage, req?: number): MsgFields {
  const f: MsgFields = { seq: 0, mid: "", from: "", to: BROADCAST, ts: 0, conv: "", req: undefined };
  return fieldsInto(f, { kind: "user", name: "" }, m, req);
}
