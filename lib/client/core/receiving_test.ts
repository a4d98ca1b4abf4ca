/**
 * Acknowledging (receiving.ts `ack`): a control message the codec consumed (a room key) is
 * acknowledged only once no unread chat message of its conversation precedes it — acknowledging it
 * earlier would drop that message from the server's queue — and an unreadable message goes with it.
 */
import assert from "node:assert/strict";
import { utf8, utf8d } from "../../common/bytes.ts";
import type { Frame } from "../../protocol/frame.ts";
import type { ChatMessage } from "../backend.ts";
import { type BodyCodec, PlainCodec, UnreadableError } from "../e2e/mod.ts";
import type { Connection } from "../session/connection.ts";
import type { SealedEnvelope } from "./link.ts";
import * as recv from "./receiving.ts";
import { testHost } from "./host_testing.ts";

const env = (seq: number, body: string): SealedEnvelope => ({
  seq,
  mid: `m${seq}`,
  ts: 1000 + seq,
  from: "alice",
  to: { kind: "user", name: "bob" },
  body: utf8.encode(body),
});

const CONV = "d:alice:bob";

/** A codec that consumes bodies "key", cannot ever read "bad" and reads the rest as text. */
const codec: BodyCodec = {
  ...PlainCodec,
  receive(m: ChatMessage, _conv: string, body: Uint8Array): Promise<ChatMessage | null> {
    const text = utf8d.decode(body);
    if (text === "bad") return Promise.reject(new UnreadableError("no session"));
    return Promise.resolve(text === "key" ? null : { ...m, text });
  },
};

function receiving() {
  const acks: unknown[] = [];
  const conn = {
    closed: false,
    onPush: (_l: (f: Frame) => void) => () => {},
    request: (t: string, f: { acks: unknown }) => {
      assert.equal(t, "ack");
      acks.push(f.acks);
      return Promise.resolve({ header: { t: "ok" }, body: new Uint8Array() });
    },
  } as unknown as Connection;
  const host = testHost(conn, { codec, ack: async (a) => void await conn.request("ack", { acks: a }) });
  const st = recv.openInbound(host);
  return {
    acks,
    take: (e: SealedEnvelope) => recv.receive(host, e),
    ack: (ms: ChatMessage[]) => recv.ack(host, st, ms),
  };
}

Deno.test("ack: a consumed control message waits for the unread message before it", async () => {
  const t = receiving();
  const first = await t.take(env(1, "hello"));
  assert.equal(await t.take(env(2, "key")), null);
  await t.ack([]);
  assert.deepEqual(t.acks, [], "seq 2 acknowledged while seq 1 is unread would drop seq 1");
  await t.ack([first!]);
  assert.deepEqual(t.acks, [[{ conv: CONV, seq: 2 }]]);
});

Deno.test("ack: an unreadable message goes with the next ack once nothing unread precedes it", async () => {
  const t = receiving();
  assert.equal(await t.take(env(3, "bad")), null);
  await t.ack([]);
  assert.deepEqual(t.acks, [[{ conv: CONV, seq: 3 }]]);
});
