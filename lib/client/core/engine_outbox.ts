/**
 * The outbox's decisions (issue 35.2), pure like engine.ts: the outbox's state is rows of the
 * folder's `LocalStore`, so each input carries the facts a decision needs (whether the entry is kept,
 * whether the connection is gone, the server's refusal, how many times in a row it was cut off) and
 * `outboxStep` answers the `OutboxEffect`s, in order: what to do to the entry and what the caller of
 * the send gets. outbox.ts carries them out on the store, for server mode and peer mode alike.
 * - Answered: the entry leaves the outbox for the history (`settle`).
 * - A send failed: a kept entry the server can never take (a permanent refusal) is marked failed,
 *   listed and never sent again; a one-shot entry, or one the server answered, is removed; a kept
 *   entry cut off by a lost connection stays for the next connect (`noteDrop`) — and once it was cut
 *   off `POISON_DROPS` times in a row it is marked failed and the caller gets a `frame_too_large`
 *   refusal (a server that refuses its size may reset the connection before its refusal is read) —
 *   the session's policy (core/chat_session.ts `dropLimit`): a peer session never fails an entry so.
 * - The UI's kept send failed: a permanent refusal removes the entry (the user is told now); a
 *   connection lost mid-send leaves it, answered as pending.
 * - A resend after a reconnect failed: a permanent refusal shows the entry failed and says so (with
 *   `/outbox drop N`); another refusal is said and the next entry goes; once offline, resending stops.
 * - The server cannot store messages now (`later`, issue 74): never failed, never removed — a
 *   one-shot entry becomes one to send again (`keep`), the UI's kept send is answered as pending, and
 *   resending stops (the order is kept) until kept_sends.ts tries again.
 */
import type { ChatMessage, Target } from "../backend.ts";

/** A kept entry is marked failed when the connection dropped this many times in a row while it was sent. */
export const POISON_DROPS = 3;

/** One entry of the outbox as a resend sees it. */
export interface EntryFacts {
  mid: string;
  ts: number;
  to: Target;
  text: string;
}

export type OutboxInput =
  | { kind: "answered"; message: ChatMessage }
  /**
   * `refusal`: the server's permanent refusal (its text), else null; `later`: it cannot store now;
   * `slow`: refused for speed (session/rate_wait.ts `paced` sends it again).
   */
  | {
    kind: "sendFailed";
    mid: string;
    kept: boolean;
    offline: boolean;
    refusal: string | null;
    later?: boolean;
    slow?: boolean;
  }
  /**
   * The connection was lost while `mid` was sent, `drops` times in a row now; `limit`: how many the
   * session lets it survive (chat_session.ts `dropLimit`; POISON_DROPS when not said, Infinity: a peer's).
   */
  | { kind: "dropNoted"; mid: string; drops: number; maxFrame: number; limit?: number }
  | { kind: "keptFailed"; mid: string; offline: boolean; refusal: string | null; later?: boolean }
  /** `why`: the error's text; `n`: the entry's `/outbox` number. */
  | {
    kind: "resendFailed";
    me: string;
    entry: EntryFacts;
    n?: number;
    offline: boolean;
    refusal: string | null;
    why: string;
    later?: boolean;
  };

export type OutboxEffect =
  | { kind: "settle"; message: ChatMessage }
  | { kind: "fail"; mid: string; why: string }
  | { kind: "remove"; mid: string }
  | { kind: "noteDrop"; mid: string }
  /** The entry stays, to be sent again (a one-shot one becomes kept). */
  | { kind: "keep"; mid: string }
  /** The caller gets this refusal instead of the error. */
  | { kind: "refuse"; code: string; text: string }
  /** The caller gets the error (a send), or it is thrown on (a resend). */
  | { kind: "rethrow" }
  /** The caller gets the entry as pending: it waits for the next connect. */
  | { kind: "pending" }
  /** Show the entry as failed (a resend). */
  | { kind: "showFailed"; message: ChatMessage }
  | { kind: "notice"; text: string };

/** One input of the outbox: what to do, in order. */
export function outboxStep(input: OutboxInput): OutboxEffect[] {
  switch (input.kind) {
    case "answered":
      return [{ kind: "settle", message: input.message }];
    case "sendFailed": {
      const { mid } = input;
      if (input.later) {
        return input.kept ? [{ kind: "rethrow" }] : [{ kind: "keep", mid }, { kind: "rethrow" }];
      }
      // A kept text refused for speed stays as it is: the same entry goes again once the rate allows.
      if (input.kept && input.slow) return [{ kind: "rethrow" }];
      if (input.kept && input.refusal !== null) {
        return [{ kind: "fail", mid, why: input.refusal }, { kind: "rethrow" }];
      }
      if (!input.kept || !input.offline) return [{ kind: "remove", mid }, { kind: "rethrow" }];
      return [{ kind: "noteDrop", mid }];
    }
    case "dropNoted": {
      const limit = input.limit ?? POISON_DROPS;
      if (input.drops < limit) return [{ kind: "rethrow" }];
      const why = `The connection dropped each of the ${limit} times this message was sent ` +
        `(the server may refuse its size: at most ${input.maxFrame} bytes a frame)`;
      return [{ kind: "fail", mid: input.mid, why }, { kind: "refuse", code: "frame_too_large", text: why }];
    }
    case "keptFailed": {
      if (input.later) return [{ kind: "pending" }];
      const gone = input.refusal !== null;
      const out: OutboxEffect[] = gone ? [{ kind: "remove", mid: input.mid }] : [];
      return [...out, !input.offline || gone ? { kind: "rethrow" } : { kind: "pending" }];
    }
    case "resendFailed":
      return resendFailed(input);
  }
}

/** How a resend refused for good is said (peer mode's script says it its own way: peer/node.ts). */
export const NEVER_SENT = "Not sent, and never will be:";

function resendFailed(input: Extract<OutboxInput, { kind: "resendFailed" }>): OutboxEffect[] {
  const { entry: p, refusal } = input, out: OutboxEffect[] = [];
  const quote = `"${p.text.slice(0, 40)}"`;
  if (input.later) return [{ kind: "rethrow" }]; // said once, and sent again later, by kept_sends.ts
  if (refusal !== null) {
    // Never sent again: shown as failed, listed by /outbox until dropped (issue 34.1).
    const message = { seq: 0, mid: p.mid, ts: p.ts, from: input.me, to: p.to, text: p.text, failed: refusal };
    const drop = input.n !== undefined ? ` (/outbox drop ${input.n} removes it)` : "";
    out.push({ kind: "showFailed", message }, {
      kind: "notice",
      text: `${NEVER_SENT} ${quote}: ${refusal}${drop}`,
    });
  } else if (!input.offline) out.push({ kind: "notice", text: `Not sent: ${quote}: ${input.why}` });
  if (input.offline) out.push({ kind: "rethrow" });
  return out;
}
