/**
 * `parley send TARGET -` and `parley send TARGET --lines` (fixed contract, added in 0.16): text from
 * standard input. `-` sends the whole input as one message (a multi-line text; blank lines at its
 * end dropped). `--lines` sends every line that is not blank as its own message, in order, as it
 * arrives (`tail -f app.log | parley send '#ops' --lines`), printing one "Sent to …" line (or JSON)
 * per message as `send` does. A line the server can never take (too long) is named by its number on
 * standard error and the rest go on; a refusal for speed waits and tries the same line again
 * (session/rate_wait.ts), so a burst is slowed, never dropped; anything else (the connection lost)
 * stops with the number of the first line not sent. "The server cannot store messages right now"
 * (issue 74) is said once and the same message sent again for up to a minute (`sendKeptOnce`, which
 * `send` uses too); then it stops there, that message waiting in the outbox. Reads standard input
 * through `CliIo.scriptLines` only.
 */
import { BackendError, type ChatMessage, type Target } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { isPermanentRefusal, isRetryLater, STORE_DOWN_TEXT } from "../core/message_size.ts";
import { paced, STORE_PATIENCE_MS, untilStored } from "../session/rate_wait.ts";
import { randomId } from "../../common/random.ts";
import type { CliIo } from "./io.ts";

/** Standard input's lines, or a usage error where it cannot be read. */
export function stdinLines(io: CliIo): AsyncIterable<string> {
  if (!io.scriptLines) throw new BackendError("usage", "Standard input cannot be read here");
  return io.scriptLines("-");
}

/** The whole of `lines` as one text: trailing blank lines dropped; empty is refused. */
export async function wholeText(lines: AsyncIterable<string>): Promise<string> {
  const all: string[] = [];
  for await (const l of lines) all.push(l);
  while (all.length && !all[all.length - 1]!.trim()) all.pop();
  if (!all.length) throw new BackendError("usage", "There is no text to send: standard input was empty");
  return all.join("\n");
}

/**
 * Sends every line of `lines` that is not blank to `target` as its own message, in order (`convert`:
 * the emoji rule, or none with --raw); `said` prints each sent one. Resolves with the numbers of the
 * lines the server can never take; throws on any other failure, naming the first line not sent.
 */
export async function sendLines(
  c: ChatClient,
  target: Target,
  lines: AsyncIterable<string>,
  convert: (s: string) => string,
  said: (m: ChatMessage) => void,
  io: Pick<CliIo, "err">,
  patienceMs?: number,
): Promise<number[]> {
  const refused: number[] = [];
  let n = 0, sent = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    try {
      said(
        await paced(() => sendKeptOnce(c, target, convert(line), undefined, (l) => io.err(l)), patienceMs),
      );
      sent++;
    } catch (e) {
      if (!isPermanentRefusal(e)) {
        const msg = e instanceof Error ? e.message : String(e);
        const kept = isRetryLater(e) ? ` (line ${n} waits in the outbox)` : "";
        const where = sent || refused.length
          ? `Stopped at line ${n} (${sent} sent before it; line ${n} and what follows were not)${kept}`
          : `Nothing was sent${kept}`;
        throw new BackendError(e instanceof BackendError ? e.code : "failed", `${where}: ${msg}`);
      }
      refused.push(n);
      io.err(`parley: line ${n} not sent: ${e.message}`);
    }
  }
  if (!sent && !refused.length) {
    throw new BackendError("usage", "There is no text to send: standard input had no line that is not blank");
  }
  return refused;
}

/**
 * `send`'s one message (issue 74): while the server cannot store messages it is said once (`err`)
 * and sent again with the same mid for up to `patienceMs`; then the error, the message waiting in
 * the outbox for the next connect of a client that follows (the full-screen one, read --follow).
 */
export async function sendKeptOnce(
  c: ChatClient,
  target: Target,
  text: string,
  replyTo: string | undefined,
  err: (line: string) => void,
  patienceMs = STORE_PATIENCE_MS,
): Promise<ChatMessage> {
  const mid = randomId(undefined, 12), re = replyTo ? { replyTo } : {};
  const waiting = () =>
    err(
      `${STORE_DOWN_TEXT.split(";")[0]}; sending again until it can (at most ${
        Math.round(patienceMs / 1000)
      } s)`,
    );
  try {
    return await untilStored(() => c.send(target, text, { mid, ...re }), waiting, patienceMs);
  } catch (e) {
    if (isRetryLater(e) && c.outgoing?.has(mid)) {
      err(
        "The message waits in the outbox (parley outbox lists it): the full-screen client or " +
          "parley read --follow sends it at its next connect",
      );
    }
    throw e;
  }
}
