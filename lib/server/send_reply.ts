/**
 * The answer to a stored `send` (handlers_messages.ts), told by the group commit (message_log.ts
 * `Committed`) once its batch is on disk: `ok` with its seq; a resend (same mid) the first copy's
 * seq; a failure `internal`, its quota given back. One object per send, no promise (a resend's
 * look-up aside).
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { Core } from "./core.ts";
import type { Committed } from "./message_log.ts";
import type { Session } from "./session.ts";
import type { StoredMessage } from "./store/store.ts";

/** A stored send's answer, once its batch is committed: `ok` with its seq, or why not. */
export class SendReply implements Committed {
  constructor(
    readonly c: Core,
    readonly s: Session,
    readonly id: number,
    readonly mid: string,
    readonly bytes: number,
    readonly t: { kind: string; name?: string | null },
  ) {}

  stored(r: StoredMessage | null): void {
    const { c, s } = this;
    try {
      if (!r) return void this.#resent().catch((e) => this.failed(e));
      // Metadata only (opt-in): never the body.
      if (c.config.logMessages) {
        c.log.info("message", { from: s.user, to: targetText(this.t), bytes: this.bytes, seq: r.seq });
      }
      s.replyStored(this.id, r.seq, r.ts);
      s.settled();
    } catch (e) {
      this.failed(e);
    }
  }

  /** A resend (same mid) learns the first copy's seq, so the sender's outbox can confirm it. */
  async #resent(): Promise<void> {
    const first = await this.c.store.seqOf(this.s.user, this.mid);
    this.c.releaseQuota(this.s.user, this.bytes);
    this.s.reply(this.id, first ? { seq: first.seq, ts: first.ts, dup: true } : { dup: true });
    this.s.settled();
  }

  failed(e: unknown): void {
    this.c.releaseQuota(this.s.user, this.bytes);
    this.c.log.error("store.append", { error: String(e) });
    this.s.fail(this.id, ErrorCode.Internal, "The server could not store the message; try again");
    this.s.settled();
  }
}

/** How `--log-messages` names a target: `bob`, `#dev`, `*` for broadcasts. */
function targetText(t: { kind: string; name?: string | null }): string {
  return t.kind === "room" ? `#${t.name}` : t.kind === "broadcast" ? "*" : String(t.name);
}
