import assert from "node:assert/strict";
import type { KeyEvent } from "../term/keys.ts";
import { InputHold } from "./input_hold.ts";
import { ManualTimers } from "../../common/clock_testing.ts";
import { until } from "../../common/wait_testing.ts";

const key = (k: string): KeyEvent => ({ type: "text", text: k });
const later = (fn: () => void) => void queueMicrotask(fn);

Deno.test("InputHold keeps the keys after a hold began, in order, until the command settles or its bound passes", async () => {
  const back: string[] = [], handled: string[] = [];
  const timers = new ManualTimers(); // the bound passes only when the test says
  const hold = new InputHold(
    (evs) => back.push(...evs.map((e) => (e as { text: string }).text)),
    later,
    30,
    timers,
  );
  const handle = (ev: KeyEvent) => {
    handled.push((ev as { text: string }).text);
    if (handled.length === 1) hold.hold(settled); // the first key submitted a command
  };
  let settle!: () => void;
  const settled = new Promise<void>((r) => (settle = r));
  hold.take([key("a"), key("b")], handle);
  hold.take([key("c")], handle);
  assert.deepEqual([handled, back], [["a"], []]);
  settle();
  await until(() => back.length >= 2, "the held keys handed back");
  assert.deepEqual(back, ["b", "c"], "handed back once the command settled");
  assert.equal(timers.pending, 0, "the settled hold's bound is cleared");
  // A command that never settles holds the keys for the bound only; its late end releases no later hold.
  hold.hold(new Promise(() => {}));
  hold.take([key("d")], handle);
  timers.advance(29);
  await Promise.resolve(); // `later` is a microtask: a release would have run by now
  assert.deepEqual(back, ["b", "c"], "held until the bound");
  timers.advance(1);
  await until(() => back.length >= 3, "the keys handed back at the bound");
  assert.deepEqual(back, ["b", "c", "d"]);
  assert.equal(hold.holding, false);
});
