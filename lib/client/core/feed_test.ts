/**
 * The feed's phases (issue 35.2): a message that arrives while a sync collects the offline queue is
 * the sync's — neither lost nor also told as live — and after the reply messages are live again.
 * The phases themselves are engine_test.ts's table; this is the whole receive path (receiving.ts,
 * the engine, its driver) over a scripted connection (pushes and the sync's reply in the order the server sends
 * them: the queue, the live messages it held back, then the reply).
 */
import assert from "node:assert/strict";
import { utf8 } from "../../common/bytes.ts";
import type { Frame } from "../../protocol/frame.ts";
import type { ChatMessage } from "../backend.ts";
import type { Connection } from "../session/connection.ts";
import * as recv from "./receiving.ts";
import { testHost } from "./host_testing.ts";
import { ServerSession } from "./server_session.ts";
import { ServerLink } from "./server_link.ts";
import { ManualClock } from "../../common/clock.ts";

const msg = (seq: number, text: string): Frame => ({
  header: { t: "msg", seq, mid: `m${seq}`, ts: 1000 + seq, from: "alice", to: { kind: "user", name: "bob" } },
  body: utf8.encode(text),
});

/** A connection whose pushes the test makes, and whose `sync` reply comes when `reply` is called. */
function scripted() {
  const listeners = new Set<(f: Frame) => void>();
  let reply = () => {};
  const conn = {
    closed: false,
    onPush: (l: (f: Frame) => void) => (listeners.add(l), () => listeners.delete(l)),
    request: (t: string) => {
      assert.equal(t, "sync");
      return new Promise((r) => (reply = () => r({ header: { t: "ok" }, body: new Uint8Array() })));
    },
  } as unknown as Connection;
  const push = (f: Frame) => [...listeners].forEach((l) => l(f));
  return { conn, push, reply: () => reply() };
}

function inbound() {
  const s = scripted();
  const events: ChatMessage[] = [];
  const host = testHost(s.conn, { emit: (e) => void (e.type === "message" && events.push(e.message)) });
  const st = recv.openInbound(host);
  return { ...s, events, sync: () => recv.sync(host, st), opened: () => st.opening };
}

Deno.test("feed: a message arriving during the sync is the sync's, once; later ones are live", async () => {
  const t = inbound();
  const synced = t.sync();
  t.push(msg(1, "queued"));
  t.push(msg(2, "sent during the sync")); // held back by the server until the queue is out
  t.reply();
  const got = await synced;
  assert.deepEqual(got.map((m) => m.text), ["queued", "sent during the sync"]);
  assert.ok(got.every((m) => m.replay));
  t.push(msg(3, "live"));
  await t.opened();
  assert.deepEqual(t.events.map((m) => m.text), ["live"], "nothing of the sync told again as live");
});

Deno.test("feed: after a reconnect, what the server hands again under the same seq is not told nor saved twice, only acknowledged (issue 74)", async () => {
  const told: number[] = [], saved: number[] = [], acks: unknown[] = [];
  let s = scripted();
  const host = testHost(s.conn, {
    emit: (e) => void (e.type === "message" && told.push(e.message.seq)),
    save: (m) => void saved.push(m.seq),
    ack: (a) => Promise.resolve(void acks.push(a)),
  });
  // A UI follows (chat_client.ts `start`): the queue is told after the sync, then live messages.
  await host.engine.drive({ kind: "follow", now: 0 });
  let st = recv.openInbound(host);
  const first = recv.sync(host, st);
  s.push(msg(1, "queued"));
  s.reply();
  await host.engine.drive({ kind: "caughtUp", messages: await first, tell: true });
  s.push(msg(2, "live"));
  s.push(msg(3, "live too"));
  await st.opening;
  assert.deepEqual(told, [1, 2, 3]);
  // The node dies before the tick acknowledged them; the client logs in on another node.
  s = scripted();
  const session = new ServerSession(s.conn, "x", "bob", "user");
  Object.assign(host, { session, link: new ServerLink(s.conn, new ManualClock()) }); // chat_client.ts #bind
  st = recv.openInbound(host);
  const again = recv.sync(host, st);
  for (const seq of [1, 2, 3]) s.push(msg(seq, "handed again")); // not acknowledged: the queue again
  s.push(msg(4, "new in the queue"));
  s.reply();
  await host.engine.drive({ kind: "caughtUp", messages: await again, tell: true });
  s.push(msg(3, "handed again, live")); // a node's fan-out racing the sync: the same seq once more
  s.push(msg(5, "live after"));
  await st.opening;
  assert.deepEqual(told, [1, 2, 3, 4, 5], "each seq told once");
  assert.deepEqual(saved, [1, 2, 3, 4, 5], "each seq saved once");
  await host.engine.drive({ kind: "tick", now: 1, connOpen: true });
  assert.deepEqual(
    acks,
    [[{ conv: "d:alice:bob", seq: 5 }]],
    "what came again is acknowledged with the rest",
  );
  // Once the server took them, the seqs are forgotten: the remembered set does not grow for ever.
  assert.deepEqual(host.engine.state.shown, {});
});
