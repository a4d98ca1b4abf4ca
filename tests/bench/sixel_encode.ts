/**
 * Sixel encoder micro-bench (issue 75): process CPU ms per frame of `SixelEncoder.encode` at
 * 1280×720 and 640×360 (RGB frames of videos/sample.mp4 scaled by ffmpeg), cold and warm. Each sample
 * is a fresh child process: "make" is the CPU of making the encoder and of the 30 ms after (the play
 * request's round trip: an engine compiles in the background), "first frame" the first encode (what
 * the first frame after /play pays), "warm" the median of the next frames; "early" rows make the encoder
 * with `warm: true` (as a painter made ahead of the first frame). Prints medians with ranges.
 * Run: `deno run -A tests/bench/sixel_encode.ts [n] [encoder module]` (n ≥ 9 samples; the module
 * defaults to lib/media/render_sixel.ts, so an older copy can be measured the same way).
 */

import process from "node:process";

const WARM_FRAMES = 20;
/** Between making the encoder and the first frame (the play request's round trip). */
const GAP_MS = 30;
const SIZES = [[1280, 720], [640, 360]] as const;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function child(module: string, frame: string, w: number, h: number, early: boolean): Promise<void> {
  const { SixelEncoder } = await import(module);
  const img = { width: w, height: h, data: Deno.readFileSync(frame), channels: 3 };
  const t0 = cpuMs();
  const enc = new SixelEncoder({ levels: 4, warm: early });
  await new Promise((ok) => setTimeout(ok, GAP_MS)); // the play request's round trip
  const t1 = cpuMs();
  const first: Uint8Array = enc.encode(img, { row: 1, col: 1 });
  const cold = cpuMs() - t1, make = t1 - t0;
  let bytes = first.length;
  const warm: number[] = [];
  for (let i = 0; i < WARM_FRAMES; i++) {
    const t = cpuMs();
    bytes += enc.encode(img, { row: 1, col: 1 }).length;
    warm.push(cpuMs() - t);
  }
  console.log(JSON.stringify({ make, cold, warm: median(warm), bytes, hash: fnv(first) }));
}

/** FNV-1a of the first frame's bytes: equal hashes before and after mean the same output. */
function fnv(b: Uint8Array): string {
  let x = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) x = Math.imul(x ^ b[i]!, 16777619) >>> 0;
  return x.toString(16);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function rgbFrame(w: number, h: number): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: `-${w}x${h}.rgb` });
  const video = new URL("../../videos/sample.mp4", import.meta.url).pathname;
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-v",
      "error",
      "-ss",
      "2",
      "-i",
      video,
      "-frames:v",
      "1",
      "-vf",
      `scale=${w}:${h}`,
      "-f",
      "rawvideo",
      "-pix_fmt",
      "rgb24",
      "-y",
      path,
    ],
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return path;
}

async function main(): Promise<void> {
  const [a0, a1, a2, a3, a4] = Deno.args;
  if (a0 === "--child") return child(a1!, a2!, Number(a3), Number(a4), Deno.args[5] === "early");
  const n = Math.max(9, Number(a0 ?? 9));
  const module = a1
    ? new URL(a1, `file://${Deno.cwd()}/`).href
    : new URL("../../lib/media/render_sixel.ts", import.meta.url).href;
  console.log(
    `module ${module}, n=${n}, load: ${
      new TextDecoder().decode((await new Deno.Command("uptime").output()).stdout).trim()
    }`,
  );
  for (const [w, h] of SIZES) {
    const frame = await rgbFrame(w, h);
    for (const early of [false, true]) {
      console.log(`${w}×${h} ${early ? "early" : "plain"}: ${await samples(n, module, frame, w, h, early)}`);
    }
    await Deno.remove(frame);
  }
  console.log(
    `load after: ${new TextDecoder().decode((await new Deno.Command("uptime").output()).stdout).trim()}`,
  );
}

/** `n` fresh processes encoding `frame`; their medians and ranges as one line. */
async function samples(
  n: number,
  module: string,
  frame: string,
  w: number,
  h: number,
  early: boolean,
): Promise<string> {
  const make: number[] = [], cold: number[] = [], warm: number[] = [];
  let hash = "";
  for (let i = 0; i < n; i++) {
    const args = ["run", "-A", import.meta.filename!, "--child", module, frame, String(w), String(h)];
    const out = await new Deno.Command(Deno.execPath(), { args: early ? [...args, "early"] : args }).output();
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    make.push(r.make);
    cold.push(r.cold);
    warm.push(r.warm);
    hash = `${r.bytes / (WARM_FRAMES + 1)} B/frame, fnv ${r.hash}`;
  }
  const fmt = (xs: number[]) =>
    `${median(xs).toFixed(1)} ms (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  return `make ${fmt(make)}, first frame ${fmt(cold)}, warm ${fmt(warm)}  [${hash}]`;
}

if (import.meta.main) await main();
