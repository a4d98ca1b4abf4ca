import assert from "node:assert/strict";
import { BackendError, type ChatMessage, type Target } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { sendLines, wholeText } from "./send_stdin.ts";

async function* lines(...l: string[]): AsyncIterable<string> {
  yield* l;
}

/** A client whose sends answer as `answer` says for each attempt (its texts are kept). */
function scripted(answer: (text: string, attempt: number) => "ok" | BackendError) {
  const sent: string[] = [];
  const tries = new Map<string, number>();
  const c = {
    send(to: Target, text: string): Promise<ChatMessage> {
      const n = (tries.get(text) ?? 0) + 1;
      tries.set(text, n);
      const a = answer(text, n);
      if (a !== "ok") return Promise.reject(a);
      sent.push(text);
      return Promise.resolve({ seq: sent.length, mid: `m${sent.length}`, ts: 0, from: "a", to, text });
    },
  } as unknown as ChatClient;
  return { c, sent, tries };
}

const bob: Target = { kind: "user", name: "bob" };
const same = (s: string) => s;

Deno.test("sendLines: a refusal for speed waits and sends the same line again; order kept", async () => {
  const { c, sent, tries } = scripted((t, n) =>
    t === "two" && n < 3 ? new BackendError("rate_limited", "You are sending too fast; slow down") : "ok"
  );
  const said: ChatMessage[] = [];
  const refused = await sendLines(c, bob, lines("one", "two", "three"), same, (m) => said.push(m), {
    err: () => {},
  });
  assert.deepEqual(refused, []);
  assert.deepEqual(sent, ["one", "two", "three"]);
  assert.equal(tries.get("two"), 3);
  assert.equal(said.length, 3);
});

Deno.test("sendLines: a line the server never takes is named and the rest go; any other failure stops", async () => {
  const errs: string[] = [];
  const big = scripted((t) =>
    t === "big" ? new BackendError("frame_too_large", "The message is too long") : "ok"
  );
  const r = await sendLines(big.c, bob, lines("a", "", "big", "b"), (s) => s, () => {}, {
    err: (l) => errs.push(l),
  });
  assert.deepEqual(r, [3]);
  assert.deepEqual(big.sent, ["a", "b"]);
  assert.deepEqual(errs, ["parley: line 3 not sent: The message is too long"]);
  const lost = scripted((t) => t === "c" ? new BackendError("closed", "The connection closed") : "ok");
  await assert.rejects(
    sendLines(lost.c, bob, lines("a", "b", "c", "d"), same, () => {}, { err: () => {} }),
    /^BackendError: Stopped at line 3 \(2 sent before it; line 3 and what follows were not\): The connection closed$/,
  );
  assert.deepEqual(lost.sent, ["a", "b"]);
  // Speed refusals past the patience end it too (here 300 ms of waiting).
  const slow = scripted(() => new BackendError("rate_limited", "slow down"));
  await assert.rejects(
    sendLines(slow.c, bob, lines("x"), same, () => {}, { err: () => {} }, 300),
    /Nothing was sent: slow down/,
  );
  await assert.rejects(
    sendLines(big.c, bob, lines("", "  "), same, () => {}, { err: () => {} }),
    /no line that is not blank/,
  );
});

Deno.test("wholeText: the input as one text, blank lines at its end dropped", async () => {
  assert.equal(await wholeText(lines("a", "", "  b", "", " ")), "a\n\n  b");
  await assert.rejects(wholeText(lines("", "")), /standard input was empty/);
});
