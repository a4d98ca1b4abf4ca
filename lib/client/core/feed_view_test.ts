/** The first screen's rules of both modes (feed_view.ts): what is gone is neither shown nor counted. */
import assert from "node:assert/strict";
import type { ChatMessage } from "../backend.ts";
import { firstScreen } from "./feed_view.ts";

const m = (text: string, expires?: number): ChatMessage => ({
  seq: 1,
  mid: text,
  ts: 0,
  from: "bob",
  to: { kind: "user", name: "alice" },
  text,
  ...(expires !== undefined ? { expires } : {}),
});

Deno.test("firstScreen: a message whose time is up leaves recent and unseen; pending stays as it is", () => {
  const pending = [m("waiting", 5)];
  const s = firstScreen({
    recent: [m("kept"), m("gone", 10), m("later", 11)],
    unseen: [m("gone", 10)],
    pending,
  }, 10);
  assert.deepEqual(s.recent.map((x) => x.text), ["kept", "later"]);
  assert.deepEqual(s.unseen, []);
  assert.equal(s.pending, pending);
});
