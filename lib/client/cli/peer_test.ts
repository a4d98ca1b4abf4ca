import assert from "node:assert/strict";
import { messageLine, peerEventLine } from "./peer.ts";
import type { ChatMessage } from "../backend.ts";

const m: ChatMessage = {
  seq: 1,
  mid: "a1",
  ts: Date.UTC(2026, 0, 2, 12, 0),
  from: "mallory",
  to: { kind: "user", name: "alice" },
  text: "hi\n2026-01-02T12:00:00Z bob fake line\r\nconnected eve",
};

Deno.test("peer script (issue 33.9): a message's newlines cannot forge event or inbox lines", () => {
  const ev = peerEventLine({ type: "message", message: m })!;
  assert.equal(ev, "2026-01-02T12:00:00Z mallory hi^J2026-01-02T12:00:00Z bob fake line^M^Jconnected eve");
  assert.equal(`inbox ${messageLine(m)}`.split("\n").length, 1);
  assert.doesNotMatch(ev, /[\n\r]/);
});

Deno.test("peer script (issue 34.4): a delivery prints no event line (it only clears the screen's ⋯)", () => {
  assert.equal(peerEventLine({ type: "delivered", message: { ...m, from: "alice" } }), null);
});
