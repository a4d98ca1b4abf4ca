import assert from "node:assert/strict";
import { paneFields, parseInbound } from "./messages.ts";
import { ProtocolError } from "./errors.ts";
import { convKey, normalizeName } from "./names.ts";

function code(h: Record<string, unknown>): string {
  try {
    parseInbound(h);
    return "none";
  } catch (e) {
    assert.ok(e instanceof ProtocolError);
    return e.code;
  }
}

Deno.test("parseInbound() accepts well-formed requests", () => {
  assert.equal(code({ t: "hello", id: 1, v: 1, client: "cli" }), "none");
  assert.equal(code({ t: "send", id: 2, to: { kind: "room", name: "dev" }, mid: "abcdefgh12" }), "none");
  assert.equal(code({ t: "send", id: 2, to: { kind: "broadcast" }, mid: "abcdefgh12" }), "none");
  assert.equal(code({ t: "pong" }), "none");
});

Deno.test("parseInbound() rejects unknown kinds, wrong types and extra keys with stable codes", () => {
  assert.equal(code({ t: "nuke", id: 1 }), "unknown_kind");
  assert.equal(code({ t: "toString", id: 1 }), "unknown_kind");
  assert.equal(code({ id: 1 }), "invalid");
  assert.equal(code({ t: "login", id: 1, user: 5, password: "x" }), "invalid");
  assert.equal(code({ t: "login", id: "1", user: "a", password: "x" }), "invalid");
  assert.equal(code({ t: "login", id: 1, user: "a", password: "x", admin: true }), "invalid");
  assert.equal(code({ t: "who", id: 1e300 }), "invalid");
  assert.equal(
    code({ t: "send", id: 2, to: { kind: "broadcast", name: "x" }, mid: "abcdefgh12" }),
    "invalid",
  );
  assert.equal(code({ t: "history", id: 2, to: { kind: "room", name: "x" }, since: -1 }), "invalid");
});

Deno.test("parseInbound() keeps the request id in the error so the reply can echo it", () => {
  assert.throws(
    () => parseInbound({ t: "login", id: 42, user: 1 }),
    (e) => e instanceof ProtocolError && e.id === 42 && e.code === "invalid",
  );
});

Deno.test("normalizeName() folds case and width and refuses look-alikes and controls", () => {
  assert.equal(normalizeName("Alice"), "alice");
  assert.equal(normalizeName("ＡＬＩＣＥ"), "alice");
  assert.equal(normalizeName("#Dev"), "dev");
  assert.equal(normalizeName("аlice"), null); // Cyrillic а
  assert.equal(normalizeName("al\u001bice"), null);
  assert.equal(normalizeName(""), null);
  assert.equal(normalizeName("a".repeat(33)), null);
  assert.equal(convKey("user", "bob", "alice"), convKey("user", "alice", "bob"));
});

Deno.test("paneFields() gives pixels every pane-carrying request takes (the one home of that bound)", () => {
  for (const [w, h] of [[0, 0], [1.4, 2.6], [640.5, 359.5], [99999, 1e9], [-5, 7]]) {
    const px = paneFields(w!, h!);
    assert.ok(Number.isInteger(px.width) && Number.isInteger(px.height), `${w}×${h}`);
    assert.equal(code({ t: "stream.pane", id: 1, sid: "abcdefgh", ...px }), "none", `${w}×${h}`);
  }
  assert.deepEqual(paneFields(640.5, 359.4), { width: 641, height: 359 });
  assert.deepEqual(paneFields(0, 1e9), { width: 2, height: 8192 });
});
