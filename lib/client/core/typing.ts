/**
 * Typing indicators on the wire (issue 14). The sealed payload of an ephemeral `send` is
 * `{"v":1,"k":"typing","mid":…,"active":bool}` (encrypted like a message: DM ratchet or room sender
 * key, see E2eCodec.sealTyping). `TypingGate` decides what goes out, per conversation, on an injected
 * clock: at most one "typing" every RESEND_MS; a "stopped" only while the last "typing" may still be
 * shown (younger than SHOWN_MS, after which the receiver clears it by itself); sending a message
 * clears the conversation without a "stopped" (the message itself clears it at the receiver).
 */
import { utf8, utf8Strict } from "../../common/bytes.ts";
import type { Clock } from "../../common/clock.ts";
import { normalizeName } from "../../protocol/names.ts";
import type { Target } from "../backend.ts";

/** At most one "typing" per conversation this often, ms. */
export const TYPING_RESEND_MS = 3000;
/** A receiver shows "typing" this long after the last event, ms (the TUI's TYPING_TTL). */
export const TYPING_SHOWN_MS = 6000;

/** The key `TypingGate` keeps a conversation under. */
export const typingKey = (t: Target): string => `${t.kind}:${normalizeName(t.name ?? "") ?? t.name}`;

export function encodeTyping(mid: string, active: boolean): Uint8Array {
  return utf8.encode(JSON.stringify({ v: 1, k: "typing", mid, active }));
}

/** The typing state an opened signal carries, or null when it is not a typing event of this `mid`. */
export function decodeTyping(b: Uint8Array, mid: string): { active: boolean } | null {
  try {
    const p = JSON.parse(utf8Strict.decode(b));
    if (p?.v !== 1 || p.k !== "typing" || p.mid !== mid || typeof p.active !== "boolean") return null;
    return { active: p.active };
  } catch {
    return null;
  }
}

export class TypingGate {
  /** Conversation key → when its last "typing" went out. */
  readonly #sent = new Map<string, number>();

  constructor(readonly clock: Clock) {}

  /** True when this change should go out now (and records it). */
  allow(conv: string, active: boolean): boolean {
    const now = this.clock.now();
    const last = this.#sent.get(conv);
    if (active) {
      if (last !== undefined && now - last < TYPING_RESEND_MS) return false;
      this.#sent.set(conv, now);
      return true;
    }
    this.#sent.delete(conv);
    return last !== undefined && now - last < TYPING_SHOWN_MS;
  }

  /** A message went to `conv`: it clears the indicator at the receiver; the next keystroke types again. */
  sent(conv: string): void {
    this.#sent.delete(conv);
  }
}
