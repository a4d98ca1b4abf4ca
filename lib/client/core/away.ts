/**
 * Away replies (`/away REASON`, as IRC's away message). The reason is user text, so the server never
 * holds it: it stays in this client, and whoever sends this user a direct message while it is set is
 * told by a sealed signal (`{"v":1,"k":"away","mid":…,"text":…}`, sent like a typing event: never
 * stored, only to the sender's live devices), once per sender and reason. Only a text that arrives
 * live is answered: nothing from the offline queue or history, nothing from oneself, from a blocked
 * user (the codec consumes those unread), nor a change or setting line. The status the server shows
 * (busy) is set beside it by the caller.
 * An away reply received is shown only when this user asked for it (issue 69 A1): a direct text of
 * theirs to that person (from this client, or one of their devices: `sent`) within AWAY_ASKED_MS and
 * since the last reply shown (`expects`); anyone else's is dropped (receiving.ts).
 * `idle` settles once every reply begun so far was handed to the link or given up (a test's fence).
 */
import { utf8, utf8Strict } from "../../common/bytes.ts";
import { type AwayControl, BackendError, type ChatMessage } from "../backend.ts";
import { lineProblem } from "../../common/words.ts";
import { normalizeName } from "../../protocol/names.ts";
import { type SendHost, sendSignal } from "./sending.ts";

/** How long after a direct text to someone their away reply is still expected. */
export const AWAY_ASKED_MS = 10 * 60_000;

/** The longest away reason, in code points. */
export const AWAY_MAX = 300;

/** Why `text` cannot be an away reason (a line break, longer than AWAY_MAX), or null when it can. */
export const awayProblem = (text: string): string | null => lineProblem("An away reason", text, AWAY_MAX);

export function encodeAway(mid: string, text: string): Uint8Array {
  return utf8.encode(JSON.stringify({ v: 1, k: "away", mid, text }));
}

/** The reason an opened signal carries, or null when it is no well-formed away reply of this `mid`. */
export function decodeAway(b: Uint8Array, mid: string): string | null {
  try {
    const p = JSON.parse(utf8Strict.decode(b));
    if (p?.v !== 1 || p.k !== "away" || p.mid !== mid || typeof p.text !== "string") return null;
    return p.text !== "" && awayProblem(p.text) === null ? p.text : null;
  } catch {
    return null;
  }
}

/** The reason set here and who was told it: the core's `away` (`ChatBackend.away`). */
export class AwayReplies implements AwayControl {
  #reason: string | null = null;
  readonly #told = new Set<string>();
  /** Who was sent a direct text, and when: their away reply is expected (issue 69 A1). */
  readonly #asked = new Map<string, number>();
  /** Replies begun and not yet handed to the link nor given up. */
  readonly #sending = new Set<Promise<unknown>>();

  constructor(readonly h: SendHost) {}

  get reason(): string | null {
    return this.#reason;
  }

  /** Sets the reason (null or "": none); everyone is told again after a change. Refuses a bad one. */
  set(reason: string | null): void {
    const r = reason?.trim() || null;
    const problem = r === null ? null : awayProblem(r);
    if (problem) throw new BackendError("usage", problem);
    if (r !== this.#reason) this.#told.clear();
    this.#reason = r;
  }

  /** Settles once every reply begun so far was taken by the link (the server relayed it) or given up. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#sending]);
  }

  /** Notes a direct text sent to `to` (here or by another device of this user): their away reply is expected. */
  sent(to: string): void {
    const now = this.h.clock.now();
    if (this.#asked.size >= 1000) {
      for (const [k, at] of this.#asked) if (now - at > AWAY_ASKED_MS) this.#asked.delete(k);
    }
    this.#asked.set(normalizeName(to) ?? to, now);
  }

  /** Whether an away reply from `from` answers a text sent to them lately; it is taken (one reply per ask). */
  expects(from: string): boolean {
    const k = normalizeName(from) ?? from, at = this.#asked.get(k);
    this.#asked.delete(k);
    return at !== undefined && this.h.clock.now() - at <= AWAY_ASKED_MS;
  }

  /**
   * Tells the sender of a live direct text `m` the reason, when one is set and they were not told it
   * yet; one's own direct text (another device's) is noted as asking for the other's reply.
   */
  async answer(m: ChatMessage): Promise<void> {
    const h = this.h;
    if (m.from === h.user && m.to.kind === "user" && !m.setting && m.to.name) this.sent(m.to.name);
    if (this.#reason === null || m.to.kind !== "user" || m.from === h.user) return;
    if (m.replay || m.setting || m.seq <= 0) return;
    const k = normalizeName(m.from) ?? m.from, text = this.#reason;
    if (this.#told.has(k)) return;
    this.#told.add(k);
    const sending = sendSignal(h, { kind: "user", name: m.from }, (mid) => encodeAway(mid, text));
    this.#sending.add(sending);
    try {
      await sending;
    } catch (e) {
      this.#told.delete(k); // not sent (the connection went): their next message is answered
      throw e;
    } finally {
      this.#sending.delete(sending);
    }
  }
}
