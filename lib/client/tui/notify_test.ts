import assert from "node:assert/strict";
import { detectNotifyMode, notification } from "./notify.ts";

Deno.test("notification() rings the bell and adds OSC 9 or OSC 777 by mode", () => {
  assert.equal(notification("none", "bob", "hi"), "");
  assert.equal(notification("bell", "bob", "hi"), "\x07");
  assert.equal(notification("osc9", "bob", "hi"), "\x07\x1b]9;bob: hi\x1b\\");
  assert.equal(notification("osc777", "bob; x", "hi"), "\x07\x1b]777;notify;bob, x;hi\x1b\\");
});

Deno.test("notification() strips controls so untrusted text cannot end the sequence", () => {
  const out = notification("osc9", "bob", "a\x07b\x1b\\c\x9cd\ne");
  assert.equal(out, "\x07\x1b]9;bob: a b \\c d e\x1b\\");
  assert.ok(notification("osc9", "bob", "x".repeat(5000)).length < 300);
});

Deno.test("detectNotifyMode() picks a mode from the terminal's environment", () => {
  assert.equal(detectNotifyMode({}), "bell");
  assert.equal(detectNotifyMode({ TERM_PROGRAM: "iTerm.app" }), "osc9");
  assert.equal(detectNotifyMode({ KITTY_WINDOW_ID: "1" }), "osc9");
  assert.equal(detectNotifyMode({ VTE_VERSION: "7600" }), "osc777");
  assert.equal(detectNotifyMode({ TMUX: "/tmp/x", TERM_PROGRAM: "iTerm.app" }), "bell");
  assert.equal(detectNotifyMode({ PARLEY_NOTIFY: "none" }), "none");
});
