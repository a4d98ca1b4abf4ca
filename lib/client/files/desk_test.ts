/**
 * The TUI's transfer progress is throttled (issue 36): a fast transfer reports hundreds of times a
 * second and each report is a redraw; the screen gets one per PROGRESS_MS per transfer while it is
 * active, and always its end.
 */
import assert from "node:assert/strict";
import { PROGRESS_MS, takenAgain, throttled } from "./desk.ts";
import type { TransferProgress } from "./transfers.ts";

const p = (fid: string, done: number, state: TransferProgress["state"] = "active"): TransferProgress => ({
  fid,
  name: `${fid}.bin`,
  peer: "bob",
  direction: "up",
  done,
  total: 1000,
  state,
});

Deno.test("throttled(): one active report per PROGRESS_MS per transfer, every end", () => {
  let t = 0;
  const shown: string[] = [];
  const report = throttled(() => t, (x) => shown.push(`${x.fid} ${x.state} ${x.done}`));
  for (let i = 0; i < 50; i++, t += 5) report(p("a", i * 10)); // 250 ms of reports every 5 ms
  report(p("b", 1)); // another transfer is not held back by the first
  report(p("a", 999, "done"));
  report(p("b", 0, "failed"));
  assert.deepEqual(shown, [
    "a active 0",
    "a active 200",
    "a active 400",
    "b active 1",
    "a done 999",
    "b failed 0",
  ]);
  assert.equal(PROGRESS_MS, 100);
  t += 1;
  report(p("a", 0)); // the same file again after its end: shown at once
  assert.equal(shown.at(-1), "a active 0");
});

Deno.test("takenAgain(): every accepted download at a start or reconnect; on a repeated offer that file alone", () => {
  const r = (fid: string, state: "accepted" | "done" | "offered") => ({ fid, state });
  const all = [r("a", "accepted"), r("b", "accepted"), r("c", "done"), r("d", "offered")];
  assert.deepEqual(all.filter((x) => takenAgain(x)).map((x) => x.fid), ["a", "b"]);
  assert.deepEqual(all.filter((x) => takenAgain(x, "b")).map((x) => x.fid), ["b"]);
  assert.deepEqual(all.filter((x) => takenAgain(x, "c")).map((x) => x.fid), []);
});
