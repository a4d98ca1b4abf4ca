import assert from "node:assert/strict";
import type { KeyEvent } from "../term/keys.ts";
import { InputHold } from "./input_hold.ts";

const key = (k: string): KeyEvent => ({ type: "text", text: k });
const later = (fn: () => void) => void queueMicrotask(fn);

Deno.test("InputHold keeps the keys after a hold began, in order, until the command settles or its bound passes", async () => {
  const back: string[] = [], handled: string[] = [];
  const hold = new InputHold((evs) => back.push(...evs.map((e) => (e as { text: string }).text)), later, 30);
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
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(back, ["b", "c"], "handed back once the command settled");
  // A command that never settles holds the keys for the bound only; its late end releases no later hold.
  hold.hold(new Promise(() => {}));
  hold.take([key("d")], handle);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(back, ["b", "c", "d"]);
  assert.equal(hold.holding, false);
});
