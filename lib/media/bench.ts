/**
 * Media benchmarks for `deno task bench`. `benchMedia` measures, on a real video: frames extracted
 * per second at 240p/720p/1080p, first-frame latency (from start and after a seek), and render
 * time per frame for each renderer at 80×24 and 200×60 cells (cells assumed `cellWidth`×`cellHeight`
 * pixels; the frame is scaled by ffmpeg to the pane first, as the server does). Returns rows; prints
 * nothing. Needs --allow-run (ffmpeg).
 */

import { spawnMjpeg } from "./ffmpeg.ts";
import { decodeJpeg, fitInto, type RgbaImage } from "./jpeg.ts";
import { renderHalfblock } from "./render_halfblock.ts";
import { HalfblockCanvas, PLAYER_TOLERANCE } from "./render_halfblock_diff.ts";
import { renderKitty } from "./render_kitty.ts";
import { renderSixel } from "./render_sixel.ts";
import { type Rendition, RENDITION_HEIGHT, RENDITIONS } from "./thirds.ts";

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
}

export interface BenchOptions {
  ffmpeg: string;
  /** The source video (e.g. videos/sample.mp4). */
  video: string;
  /** Rendition files; a missing one is emulated by scaling the source to that height. */
  renditions?: Partial<Record<Rendition, string>>;
  /** Source size, to fit frames to panes (default 1920×1080). */
  width?: number;
  height?: number;
  fps?: number;
  cellWidth?: number;
  cellHeight?: number;
  /** Frames to extract per rendition (default 72). */
  frames?: number;
  /** Render repetitions per case (default 30). */
  repeat?: number;
}

async function firstFrameMs(o: BenchOptions, startSec: number): Promise<number> {
  const t0 = performance.now();
  const src = spawnMjpeg({
    ffmpeg: o.ffmpeg,
    input: o.video,
    fps: o.fps ?? 24,
    startSec,
    height: 180,
    width: 320,
  });
  try {
    for await (const _ of src) return performance.now() - t0;
    return NaN;
  } finally {
    await src.stop();
  }
}

async function oneFrame(o: BenchOptions, width: number, height: number): Promise<Uint8Array> {
  const src = spawnMjpeg({
    ffmpeg: o.ffmpeg,
    input: o.video,
    fps: o.fps ?? 24,
    startSec: 2,
    width,
    height,
    maxFrames: 1,
  });
  let got: Uint8Array | null = null;
  for await (const f of src) got = f;
  if (!got) throw new Error("No frame from ffmpeg");
  return got;
}

function timeIt(repeat: number, fn: () => unknown): number {
  fn(); // warm up
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Runs the media benchmarks; takes a few seconds. */
export async function benchMedia(o: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const fps = o.fps ?? 24, n = o.frames ?? 72, repeat = o.repeat ?? 30;
  const sw = o.width ?? 1920, sh = o.height ?? 1080;
  const cw = o.cellWidth ?? 10, ch = o.cellHeight ?? 20;

  for (const r of RENDITIONS) {
    const path = o.renditions?.[r];
    const t0 = performance.now();
    const src = spawnMjpeg({
      ffmpeg: o.ffmpeg,
      input: path ?? o.video,
      fps,
      maxFrames: n,
      ...(path
        ? {}
        : { height: RENDITION_HEIGHT[r], width: Math.round((sw * RENDITION_HEIGHT[r]) / sh / 2) * 2 }),
    });
    let count = 0;
    for await (const _ of src) count++;
    rows.push({
      name: `extract ${r} (${path ? "rendition" : "scaled source"})`,
      value: round((count * 1000) / (performance.now() - t0), 1),
      unit: "frames/s",
    });
  }
  rows.push({ name: "first frame latency (start)", value: round(await firstFrameMs(o, 0), 1), unit: "ms" });
  rows.push({
    name: "first frame latency (seek 2 s)",
    value: round(await firstFrameMs(o, 2), 1),
    unit: "ms",
  });

  for (const [cols, rowsN] of [[80, 24], [200, 60]] as const) {
    const label = `${cols}×${rowsN}`;
    // Half-blocks: two pixels per cell vertically.
    const hb = fitInto(sw, sh, cols, rowsN * 2);
    const hbImg = await decodeJpeg(await oneFrame(o, hb.width + (hb.width % 2), hb.height + (hb.height % 2)));
    const hbCols = hb.width, hbRows = Math.ceil(hb.height / 2);
    rows.push({
      name: `render halfblock ${label} (${hbCols}×${hbRows} cells)`,
      value: round(
        timeIt(repeat, () => renderHalfblock(hbImg, hbCols, hbRows, { at: { row: 1, col: 1 } })),
        3,
      ),
      unit: "ms/frame",
    });
    rows.push(...await halfblockSequence(o, hb.width + (hb.width % 2), hb.height + (hb.height % 2), label));
    // Pixel renderers: the pane's pixel size.
    const px = fitInto(sw, sh, Math.min(sw, cols * cw), Math.min(sh, rowsN * ch)); // never above the source
    const w = px.width - (px.width % 2), h = px.height - (px.height % 2);
    const jpeg = await oneFrame(o, w, h);
    const decoded: RgbaImage = await decodeJpeg(jpeg);
    rows.push({
      name: `decode jpeg ${label} (${w}×${h} px)`,
      value: round(await asyncTime(repeat, () => decodeJpeg(jpeg)), 3),
      unit: "ms/frame",
    });
    rows.push({
      name: `render kitty ${label} (${w}×${h} px)`,
      value: round(timeIt(repeat, () => renderKitty(decoded, { id: 1 })), 3),
      unit: "ms/frame",
    });
    rows.push({
      name: `render sixel ${label} (${w}×${h} px, 64 colours)`,
      value: round(timeIt(repeat, () => renderSixel(decoded)), 3),
      unit: "ms/frame",
    });
  }
  return rows;
}

/**
 * Half-blocks over a run of consecutive frames, as the player draws them: bytes written per frame
 * (UTF-8) by the diffing canvas and by a full redraw, and the canvas's time per frame.
 */
async function halfblockSequence(o: BenchOptions, w: number, h: number, label: string): Promise<BenchRow[]> {
  const src = spawnMjpeg({
    ffmpeg: o.ffmpeg,
    input: o.video,
    fps: o.fps ?? 24,
    width: w,
    height: h,
    maxFrames: 96,
  });
  const imgs: RgbaImage[] = [];
  for await (const f of src) imgs.push(await decodeJpeg(f));
  if (!imgs.length) throw new Error("No frame from ffmpeg");
  const cols = w, rowsN = Math.ceil(h / 2), at = { row: 1, col: 1 };
  const enc = new TextEncoder();
  const canvas = new HalfblockCanvas(PLAYER_TOLERANCE); // as the player draws
  let diffBytes = 0, fullBytes = 0;
  const t0 = performance.now();
  for (const img of imgs) diffBytes += enc.encode(canvas.render(img, cols, rowsN, at)).length;
  const diffMs = (performance.now() - t0) / imgs.length;
  for (const img of imgs) fullBytes += enc.encode(renderHalfblock(img, cols, rowsN, { at })).length;
  const size = label.replace("×", "x");
  return [
    {
      name: `video bytes/frame halfblock ${size} (parley)`,
      value: Math.round(diffBytes / imgs.length),
      unit: "B",
    },
    {
      name: `video bytes/frame halfblock ${size} (full redraw, for reference)`,
      value: Math.round(fullBytes / imgs.length),
      unit: "B",
    },
    {
      name: `render halfblock diffed ${label} (${imgs.length} frames)`,
      value: round(diffMs, 3),
      unit: "ms/frame",
    },
  ];
}

async function asyncTime(repeat: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
