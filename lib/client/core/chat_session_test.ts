/** The server's ChatSession (server_session.ts over chat_session.ts): its policies and acks, over a scripted connection. */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import type { Connection } from "../session/connection.ts";
import { POISON_DROPS } from "./engine_outbox.ts";
import { ServerSession } from "./server_session.ts";

Deno.test("server session: one lane, a window of 1, down with the connection; acks are the queue's `ack`; POISON_DROPS", async () => {
  const asked: unknown[] = [];
  const conn = {
    closed: false,
    onPush: () => () => {},
    done: new Promise(() => {}),
    request: (t: string, f: unknown) => (asked.push([t, f]), Promise.resolve({ header: { t: "ok" } })),
  };
  const s = new ServerSession(conn as unknown as Connection, "h:1", "bob", "user");
  assert.equal(s.sends.window, 1);
  assert.equal(s.sends.lane, undefined, "the relay's one lane");
  assert.equal(s.sends.offline("relay"), false);
  assert.equal(s.dropLimit, POISON_DROPS);
  assert.equal(s.openLink(new ManualClock()), s.openLink(new ManualClock()), "one link a session");
  await s.ack([{ conv: "d:alice:bob", seq: 3 }]);
  assert.deepEqual(asked, [["ack", { acks: [{ conv: "d:alice:bob", seq: 3 }] }]]);
  conn.closed = true;
  assert.equal(s.sends.offline("relay"), true);
  assert.equal(s.closed, true);
});
