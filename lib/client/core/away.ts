/**
 * Away replies (`/away REASON`, as IRC's away message). The reason is user text, so the server never
 * holds it: it stays in this client, and whoever sends this user a direct message while it is set is
 * told by a sealed signal (`{"v":1,"k":"away","mid":…,"text":…}`, sent like a typing event: never
 * stored, only to the sender's live devices), once per sender and reason. Only a text that arrives
 * live is answered: nothing from the offline queue or history, nothing from oneself, from a blocked
 * user (the codec consumes those unread), nor a change or setting line. The status the server shows
 * (busy) is set beside it by the caller.
 */
import { utf8, utf8Strict } from "../../common/bytes.ts";
import { type AwayControl, BackendError, type ChatMessage } from "../backend.ts";
import { lineProblem } from "../../common/words.ts";
import { normalizeName } from "../../protocol/names.ts";
import { type SendHost, sendSignal } from "./sending.ts";

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

  /** Tells the sender of a live direct text `m` the reason, when one is set and they were not told it yet. */
  async answer(m: ChatMessage): Promise<void> {
    const h = this.h;
    if (this.#reason === null || m.to.kind !== "user" || m.from === h.user) return;
    if (m.replay || m.setting || m.seq <= 0) return;
    const k = normalizeName(m.from) ?? m.from, text = this.#reason;
    if (this.#told.has(k)) return;
    this.#told.add(k);
    try {
      await sendSignal(h, { kind: "user", name: m.from }, (mid) => encodeAway(mid, text));
    } catch (e) {
      this.#told.delete(k); // not sent (the connection went): their next message is answered
      throw e;
    }
  }
}
