/**
 * TUI figures for `deno task bench`: heap used by 10,000 messages of scrollback, and keystroke-to-
 * screen time (input bytes → state → render → diff → output string) with that scrollback, at
 * 200×60. Measures in memory with a `FakeBackend`; no terminal needed.
 */
import { TuiApp } from "./app.ts";
import { FakeBackend } from "./fake_backend.ts";
import { ManualClock } from "../../common/clock.ts";

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const utc = (ts: number) => new Date(ts).toISOString().slice(11, 16);

/** V8's gc(), present only under `--v8-flags=--expose-gc` (as `deno task bench` runs). */
const gc = (globalThis as { gc?: () => void }).gc;

function heapMb(): number {
  gc?.();
  return Deno.memoryUsage().heapUsed / 2 ** 20;
}

export async function benchTui(messages = 10000, keystrokes = 300): Promise<BenchRow[]> {
  const clock = new ManualClock();
  const backend = new FakeBackend("alice");
  backend.now = () => clock.now();
  backend.roomList = [{ name: "general", members: ["alice", "bob", "carol"], admins: ["alice"] }];
  let written = 0;
  const before = heapMb();
  const app = new TuiApp(backend, {
    output: { write: (s) => void (written += s.length) },
    cols: 200,
    rows: 60,
    clock,
    formatTime: utc,
  });
  app.start();
  await app.idle();
  app.feedText("\x1b2"); // Alt+2: #general
  await app.idle();
  const words = "lorem ipsum dolor sit amet 你好 世界 🙂 consectetur adipiscing elit sed do".split(" ");
  for (let i = 0; i < messages; i++) {
    clock.advance(1000);
    const n = 5 + (i % 25);
    const text = Array.from({ length: n }, (_, k) => words[(i + k) % words.length]).join(" ");
    backend.receive(i % 3 ? "bob" : "carol", { kind: "room", name: "general" }, `${i} ${text}`);
    if (i % 500 === 0) await app.idle();
  }
  await app.idle();
  const after = heapMb();
  const times: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < keystrokes; i++) {
    const key = i % 50 === 49 ? "\x15" : i % 20 === 19 ? "\x1b[5~" : i % 20 === 9 ? "\x1b[6~" : "x";
    const t0 = performance.now();
    app.feed(enc.encode(key));
    await app.idle();
    times.push(performance.now() - t0);
  }
  app.stop();
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const p99 = times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]!;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return [
    {
      // without gc() the difference counts garbage too and moves from run to run: said so, not hidden
      name: `tui scrollback heap (${messages} messages${gc ? ", after gc" : ", NO gc: --expose-gc missing"})`,
      value: round(after - before),
      unit: "MB",
      target: "< 80",
    },
    { name: "tui keystroke-to-screen mean (200x60)", value: round(mean), unit: "ms", target: "< 16" },
    { name: "tui keystroke-to-screen p99 (200x60)", value: round(p99), unit: "ms" },
    { name: "tui output per keystroke", value: Math.round(written / (keystrokes + 1)), unit: "bytes" },
  ];
}
