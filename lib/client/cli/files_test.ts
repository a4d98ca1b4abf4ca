/**
 * Scripted progress (issue 12): only when standard error is a terminal, at most once a second per
 * file while active, always for the end; never on standard output.
 */
import assert from "node:assert/strict";
import { progressReporter } from "./files.ts";
import { inPlace } from "../../common/progress.ts";
import { runCli } from "./main.ts";
import { VERSION } from "../../common/version.ts";

const p = (done: number, state: "active" | "done" = "active") => ({
  fid: "f1",
  name: "big.bin",
  peer: "bob",
  direction: "up" as const,
  done,
  total: 4 * 1024 * 1024,
  state,
});

Deno.test("send-file/receive progress: nothing when standard error is not a terminal", () => {
  const err: string[] = [];
  assert.equal(progressReporter({ err: (l) => err.push(l) }), undefined);
});

Deno.test("send-file/receive progress: bar, bytes, rate and ETA on a terminal, once a second", () => {
  let t = 1_000_000;
  const err: string[] = [];
  const report = progressReporter({ err: (l) => err.push(l), errTerminal: { columns: 80 }, now: () => t })!;
  report(p(0));
  t += 500;
  report(p(512 * 1024)); // within the second: not printed
  t += 500;
  report(p(1024 * 1024));
  report(p(4 * 1024 * 1024, "done"));
  assert.deepEqual(err, [
    "↑ big.bin [--------------------] 0 B/4.0 MiB -- /s ETA ?",
    "↑ big.bin [#####---------------] 1.0 MiB/4.0 MiB 1.0 MiB/s ETA 0:03",
    "↑ big.bin done",
  ]);
});

Deno.test("send-file/receive progress: redrawn in place on a terminal, the final state kept on its line", () => {
  let t = 5_000;
  const err: string[] = [], status: [string, boolean][] = [];
  const report = progressReporter({
    err: (l) => err.push(l),
    errTerminal: { columns: 80 },
    errStatus: (l, end) => status.push([l, end]),
    now: () => t,
  })!;
  report(p(0));
  t += 2000;
  report(p(2 * 1024 * 1024)); // plaintext bytes: 1 MiB/s over 2 s, 2 MiB left
  report(p(4 * 1024 * 1024, "done"));
  assert.deepEqual(err, [], "no separate lines");
  assert.deepEqual(status, [
    ["↑ big.bin [--------------------] 0 B/4.0 MiB -- /s ETA ?", false],
    ["↑ big.bin [##########----------] 2.0 MiB/4.0 MiB 1.0 MiB/s ETA 0:02", false],
    ["↑ big.bin done", true],
  ]);
});

Deno.test("progress: inPlace redraws a line without wrapping, and ends it on request", () => {
  assert.equal(inPlace("↓ a.bin 1.0 MiB", 80), "\r↓ a.bin 1.0 MiB\x1b[K");
  assert.equal(inPlace("↓ a.bin done", 80, true), "\r↓ a.bin done\x1b[K\n");
  assert.equal(inPlace("0123456789", 8), "\r012345…\x1b[K", "cut to the width, never wrapped");
});

Deno.test("send-file --help says how long --direct waits by default", async () => {
  const out: string[] = [];
  const code = await runCli(["send-file", "--help"], {
    env: { get: () => undefined },
    out: (l) => out.push(l),
    err: (l) => out.push(l),
    prompts: {},
    version: VERSION,
  });
  assert.equal(code, 0);
  assert.match(out.join("\n").replace(/\s+/g, " "), /--direct .*default 300 s/);
});
