/**
 * A stored `send` (handlers_messages.ts) as the group commit queues it, and its answer, told once
 * its batch is on disk (message_log.ts `Queued`): `ok` with its seq; a resend (same mid) the first
 * copy's seq; a failure its quota given back and its code (store_errors.ts: `disk_full` when the disk took
 * nothing more, `unavailable` with a retry hint when the store cannot be reached, else `internal`). One
 * object per send, no promise (a resend's look-up aside).
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { Core } from "./core.ts";
import type { Queued } from "./message_log.ts";
import type { Session } from "./session.ts";
import type { NewMessage, StoredMessage } from "./store/store.ts";
import { StoreFull, StoreUnavailable } from "./store/store_errors.ts";

/** A stored send, queued: its answer once its batch is committed (`ok` with its seq, or why not). */
export class SendReply implements Queued {
  /** `m`: the message (its body's bytes are the sender's quota reservation); `id`: the request's. */
  constructor(readonly c: Core, readonly from: Session, readonly id: number, readonly m: NewMessage) {}

  get bytes(): number {
    return this.m.body.length;
  }

  stored(r: StoredMessage | null): void {
    const { c, from: s } = this;
    try {
      if (!r) return this.#resend();
      // Metadata only (opt-in): never the body.
      if (c.config.logMessages) {
        c.log.info("message", { from: s.user, to: targetText(this.m), bytes: this.bytes, seq: r.seq });
      }
      s.replyStored(this.id, r.seq, r.ts);
      s.settled();
    } catch (e) {
      this.failed(e);
    }
  }

  /** `#resent`, its failure told (apart from `stored`: ARCHITECTURE.md rule 9). */
  #resend(): void {
    this.#resent().catch((e) => this.failed(e));
  }

  /** A resend (same mid) learns the first copy's seq, so the sender's outbox can confirm it. */
  async #resent(): Promise<void> {
    const first = await this.c.store.seqOf(this.from.user, this.m.mid);
    this.c.releaseQuota(this.from.user, this.bytes);
    this.from.reply(this.id, first ? { seq: first.seq, ts: first.ts, dup: true } : { dup: true });
    this.from.settled();
  }

  failed(e: unknown): void {
    this.c.releaseQuota(this.from.user, this.bytes);
    const [code, text] = failure(e);
    if (code === ErrorCode.Internal) this.c.log.error("store.append", { error: String(e) });
    else this.c.log.warn("store.append", { code, error: String(e) });
    this.from.fail(this.id, code, text);
    this.from.settled();
  }
}

/** What a request hears when the store cannot be reached (any request but a send: `failure`'s words). */
export const STORE_UNAVAILABLE_TEXT = "The server cannot reach its database right now; try again shortly";

/**
 * A request's handler failed (any request but a send): its store out of reach is `unavailable`, to try
 * again, logged as a WARN; anything else is a bug, logged as an ERROR and answered `internal`. The one
 * home of that rule (the server's dispatch, and an ack whose commit failed).
 */
export function handlerFailed(
  c: Pick<Core, "log">,
  s: Session,
  command: string,
  id: number | undefined,
  e: unknown,
) {
  if (e instanceof StoreUnavailable) {
    c.log.warn("handler", { command, code: ErrorCode.Unavailable, error: String(e) });
    return s.fail(id, ErrorCode.Unavailable, STORE_UNAVAILABLE_TEXT);
  }
  c.log.error("handler", { command, error: String(e) });
  s.fail(id, ErrorCode.Internal, "The server failed to handle that request");
}

/** A failed append's code and words: what the sender hears. */
export function failure(e: unknown): [string, string] {
  if (e instanceof StoreFull) {
    return [
      ErrorCode.DiskFull,
      "The server's disk is full and it stores nothing more for now; try again later",
    ];
  }
  if (e instanceof StoreUnavailable) {
    return [
      ErrorCode.Unavailable,
      "The server cannot store messages right now; it keeps trying, send again shortly",
    ];
  }
  return [ErrorCode.Internal, "The server could not store the message; try again"];
}

/** How `--log-messages` names a target: `bob`, `#dev`, `*` for broadcasts. */
function targetText(m: NewMessage): string {
  return m.kind === "room" ? `#${m.target}` : m.kind === "broadcast" ? "*" : m.target;
}
