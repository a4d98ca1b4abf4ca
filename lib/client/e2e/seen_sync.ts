/**
 * What was read follows you across devices: when the user reads a conversation (its buffer on
 * screen: `ChatBackend.read`, `BodyCodec.seen`), my other devices are told in a note to self sealed
 * for them only (a "seen" control message: for each conversation, the newest seq read), at most once
 * per SEEN_SYNC_MS; they mark what they hold of it up to that seq as seen (their next start shows it
 * as history, not new) and tell their screens (`{type: "seen"}`: the buffer's unread count drops).
 * One from anyone else is dropped; with no other device of mine nothing goes (e2e/codec.ts).
 */
import { utf8, utf8Strict } from "../../common/bytes.ts";
import { normalizeName } from "../../protocol/names.ts";
import { markSeenUpTo } from "../session/local_store_messages.ts";
import type { SealedChannel } from "./controls.ts";
import type { Target } from "../backend.ts";
import type { BackendEvent } from "../backend.ts";
import type { LocalStore } from "../session/local_store.ts";

/** Runs `fn` once, `ms` from now (setTimeout's shape); what `fn` answers is for a timer held by hand. */
export type Later = (fn: () => unknown, ms: number) => unknown;

/** The control kind. */
const SEEN = "seen";
/** How often at most my other devices are told what was read, ms. */
export const SEEN_SYNC_MS = 2000;

/** One conversation's newest seq shown: [kind, name ("" for broadcasts), seq]. */
type Seen = [Target["kind"], string, number];

const targetOf = ([kind, name]: Seen): Target => kind === "broadcast" ? { kind } : { kind, name };

/** A "seen" payload's entries, checked (SyntaxError when malformed or re-sent under another mid). */
function decodeSeen(plaintext: Uint8Array, mid: string): Seen[] {
  const v = JSON.parse(utf8Strict.decode(plaintext)) as { mid?: unknown; upTo?: unknown };
  if (v.mid !== mid) throw new SyntaxError("The seen message was re-sent under another id (replay)");
  const ok = (e: unknown) =>
    Array.isArray(e) && e.length === 3 && Number.isSafeInteger(e[2]) && e[2] > 0 &&
    (e[0] === "broadcast"
      ? e[1] === ""
      : (e[0] === "user" || e[0] === "room") && normalizeName(e[1]) === e[1]);
  if (!Array.isArray(v.upTo) || !v.upTo.every(ok)) throw new SyntaxError("A malformed seen");
  return v.upTo as Seen[];
}

/**
 * Registers the "seen" kind on `channel` and answers what `BodyCodec.seen` does: collects the newest
 * seq read per conversation and tells my other devices `ms` later (`later`: the timer; what it
 * runs answers once the note went, or was not sent).
 */
export function seenSync(
  p: {
    /** Who this client is. */
    me: string;
    /** The folder's history. */
    local: Pick<LocalStore, "db">;
    /** Tells the surfaces. */
    host: { notify(e: BackendEvent): void };
  },
  channel: Pick<SealedChannel, "register" | "send">,
  later: Later = setTimeout,
  ms = SEEN_SYNC_MS,
): (to: Target, upTo: number) => void {
  channel.register<Seen[]>(SEEN, {
    decode: decodeSeen,
    onReceive: (upTo, ctx) =>
      Promise.resolve(
        ctx.from !== p.me || ctx.room !== undefined ? {} : {
          after: () => {
            for (const e of upTo) {
              markSeenUpTo(p.local.db, p.me, targetOf(e), e[2]);
              p.host.notify({ type: "seen", target: targetOf(e), upTo: e[2] });
            }
          },
        },
      ),
  });
  let pending: Map<string, Seen> | null = null;
  const flush = async () => {
    const upTo = [...pending!.values()];
    pending = null; // with no other device of mine, nothing goes (e2e/codec.ts)
    const body = (mid: string) => utf8.encode(JSON.stringify({ v: 1, k: SEEN, mid, upTo }));
    await channel.send({ kind: "user", name: p.me }, SEEN, body).catch(() => {}); // offline: not told
  };
  return (to, seq) => {
    if (!(seq > 0)) return;
    if (pending === null) later(flush, ms);
    pending ??= new Map();
    const key = `${to.kind}:${to.name ?? ""}`;
    pending.set(key, [to.kind, to.name ?? "", Math.max(pending.get(key)?.[2] ?? 0, seq)]);
  };
}
