/**
 * ffmpeg — the only module here that starts processes. Finds the binary (`findFfmpeg`: the one home
 * of that rule — `PARLEY_FFMPEG`, then `PATH`; the caller passes the environment in, nothing here
 * reads `Deno.env`; a system ffmpeg is expected, see README), probes a video by parsing `ffmpeg -i` stderr (no ffprobe),
 * makes H.264 renditions, and streams frames: MJPEG from `image2pipe`, or raw RGB24 of a known size
 * (`format: "rgb"`, for small frames: no encode here, no decode in the viewer); `spawnEarly` starts
 * such a stream before the file's facts are known, read from its own header (no probe first). Every spawned ffmpeg is
 * killed and awaited when its consumer stops, aborts, returns early or hits an error. `imageThumbnail`
 * scales a received picture's first frame after its header passed the caps (image_header.ts), the
 * decoder under a memory limit where `prlimit` exists (`pictureDecoder`: DECODER_DATA_BYTES).
 */

import type { BufferPool } from "./buffer_pool.ts";
import { checkImage, IMAGE_CAPS, IMAGE_HEAD_BYTES, pixelCap } from "./image_header.ts";
import type { ImageCaps, ImageFormat, ImageHeader, ImageRefusal } from "./image_header.ts";
import { fitInto, type RgbaImage } from "./jpeg.ts";
import { MjpegSplitter } from "./mjpeg_splitter.ts";
import { RawSplitter } from "./raw_splitter.ts";

/** A failure of ffmpeg itself (missing binary, bad input, non-zero exit). */
export class FfmpegError extends Error {
  override name = "FfmpegError";
}

/** What `probe` reads of a video file. */
export interface ProbeInfo {
  /** Seconds. */
  duration: number;
  /** Frames per second. */
  fps: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

function isFile(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && (st.mode === null || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

interface LocateOptions {
  /** Value of PARLEY_FFMPEG, if set. */
  envPath?: string;
  /** PATH split into directories. */
  pathDirs: string[];
  /** Replaceable for tests. */
  exists?: (path: string) => boolean;
}

/** Finds an ffmpeg binary; null when there is none. */
function locateFfmpeg(opts: LocateOptions): string | null {
  const exists = opts.exists ?? isFile;
  if (opts.envPath && exists(opts.envPath)) return opts.envPath;
  const exe = Deno.build.os === "windows" ? "ffmpeg.exe" : "ffmpeg";
  const sep = Deno.build.os === "windows" ? "\\" : "/";
  for (const dir of opts.pathDirs) {
    if (!dir) continue;
    const p = dir.endsWith(sep) ? dir + exe : dir + sep + exe;
    if (exists(p)) return p;
  }
  return null;
}

/** Reads environment variables; the entry points pass `Deno.env`, tests a table. */
export interface EnvReader {
  /** The variable's value, or undefined when it is not set. */
  get(name: string): string | undefined;
}

/** The ffmpeg to use given an environment: `PARLEY_FFMPEG`, then `PATH`; null when there is none. */
export function findFfmpeg(env: EnvReader, exists?: (path: string) => boolean): string | null {
  return locateFfmpeg({
    envPath: env.get("PARLEY_FFMPEG") || undefined,
    pathDirs: (env.get("PATH") ?? "").split(Deno.build.os === "windows" ? ";" : ":"),
    ...(exists ? { exists } : {}),
  });
}

/** True when `path` names a file ffmpeg could read (checked before offering a local video). */
export async function isVideoFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** The sentence shown when no ffmpeg was found. */
export const FFMPEG_HINT = "set PARLEY_FFMPEG or put ffmpeg on PATH";

/** Parses the stderr of `ffmpeg -i FILE`: duration, and size and fps of the first video stream. */
export function parseProbe(stderr: string): ProbeInfo {
  const d = /Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(stderr);
  const line = stderr.split("\n").find((l) => /Stream #.*Video:/.test(l));
  if (!line) throw new FfmpegError("No video stream found");
  const size = /[\s,](\d{2,5})x(\d{2,5})[\s,\[]/.exec(line);
  const fps = /([\d.]+)(k?) fps/.exec(line) ?? /([\d.]+)(k?) tbr/.exec(line);
  if (!size) throw new FfmpegError("Video stream has no size");
  const duration = d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : 0;
  const rate = fps ? Number(fps[1]) * (fps[2] === "k" ? 1000 : 1) : 25;
  return { duration, fps: rate, width: Number(size[1]), height: Number(size[2]) };
}

function spawnError(ffmpeg: string, e: unknown): FfmpegError {
  return new FfmpegError(`Cannot run ffmpeg at ${ffmpeg}: ${e instanceof Error ? e.message : String(e)}`);
}

/** Probes a video file with `ffmpeg -i` (which exits 1 without an output: expected). */
export async function probe(ffmpeg: string, input: string): Promise<ProbeInfo> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(ffmpeg, {
      args: ["-hide_banner", "-nostdin", "-i", input],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw spawnError(ffmpeg, e);
  }
  const text = new TextDecoder().decode(out.stderr);
  try {
    return parseProbe(text);
  } catch (e) {
    const last = text.trim().split("\n").at(-1) ?? "";
    throw new FfmpegError(`${(e as Error).message} in ${input}: ${last}`);
  }
}

export interface RenditionOptions {
  /** Keyframe interval in frames (short keeps seeks cheap). Default 48. */
  gop?: number;
  crf?: number;
  signal?: AbortSignal;
}

/** Encodes `src` to an H.264 MP4 `dst` of the given height (width keeps the aspect, even). */
export async function makeRendition(
  ffmpeg: string,
  src: string,
  dst: string,
  height: number,
  opts: RenditionOptions = {},
): Promise<void> {
  const args = [
    ...["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", src, "-an", "-sn"],
    ...["-vf", `scale=-2:${height}`, "-c:v", "libx264", "-preset", "veryfast"],
    ...["-crf", String(opts.crf ?? 23), "-pix_fmt", "yuv420p", "-g", String(opts.gop ?? 48)],
    ...["-movflags", "+faststart", "-f", "mp4", dst],
  ];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(ffmpeg, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      signal: opts.signal,
    })
      .output();
  } catch (e) {
    throw spawnError(ffmpeg, e);
  }
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1) ?? "";
    throw new FfmpegError(`Making ${height}p of ${src} failed (exit ${out.code}): ${msg}`);
  }
}

/** What `spawnMjpeg` runs: which file, from where, at which rate, size and quality. */
export interface MjpegOptions {
  /** Path of the ffmpeg binary (from `findFfmpeg`). */
  ffmpeg: string;
  /** The video file to read. */
  input: string;
  /** Where to start, in seconds. */
  startSec?: number;
  /** Output frame rate. */
  fps: number;
  /** Scale to this size (both or neither). */
  width?: number;
  /** Height to scale to (with `width`). */
  height?: number;
  /** JPEG quality scale 2 (best) … 31 (worst); default 5. */
  quality?: number;
  /** Stop after this many frames. */
  maxFrames?: number;
  /**
   * "jpeg" (default): one JPEG per frame. "rgb": raw RGB24, width × height × 3 bytes per frame
   * (needs both; the caller keeps it to small frames, see `SMALL_FRAME_PIXELS`).
   */
  format?: FrameFormat;
  /** Raw frames are cut into buffers taken from here (given back by their last user: stream.ts `recycle`). */
  pool?: BufferPool;
  /** Aborting it stops ffmpeg. */
  signal?: AbortSignal;
}

/** How a frame's bytes are coded: a JPEG, or raw RGB24 rows of its width and height. */
export type FrameFormat = "jpeg" | "rgb";

/** A running ffmpeg that yields frames (JPEGs, or raw RGB24 with `format: "rgb"`); iterate once. */
export interface MjpegSource extends AsyncIterable<Uint8Array> {
  /** Process id of the running ffmpeg. */
  readonly pid: number;
  /** Kills ffmpeg (if still running) and waits for it and its pipes. Idempotent. */
  stop(): Promise<void>;
}

/** Frames of at most this many pixels (a 200×60-cell half-block pane is 200×120) are "small". */
export const SMALL_FRAME_PIXELS = 320 * 240;

/** True for a frame size that is "small" (see `SMALL_FRAME_PIXELS`); false when a size is missing. */
export function isSmallFrame(width: number | undefined, height: number | undefined): boolean {
  return !!(width && height && width > 0 && height > 0 && width * height <= SMALL_FRAME_PIXELS);
}

/** Output frames up to this many pixels are decoded on one thread (see `mjpegArgs`). */
export const ONE_THREAD_PIXELS = 1280 * 720;

/** ffmpeg's rate for `fps`: the NTSC rates ffmpeg prints rounded (29.97, 23.98, 59.94) as exact ratios. */
export function fpsArg(fps: number): string {
  for (const base of [24, 30, 60, 120]) {
    if (Math.abs(fps - (base * 1000) / 1001) < 0.006) return `${base * 1000}/1001`;
  }
  return String(fps);
}

/**
 * The `-ss` for a segment starting at `startSec`: half a frame early, so the frame due exactly at
 * the start (whose time a rounded `-ss` may pass, e.g. frame 64 at 24 fps is 2.6666… s) is kept
 * and the one before it is not.
 */
export function seekArg(startSec: number, fps: number): string | null {
  const t = startSec - 0.5 / fps;
  return t > 0 ? t.toFixed(6) : null;
}

/** The ffmpeg arguments for a frame stream (exported for tests). */
export function mjpegArgs(o: MjpegOptions): string[] {
  const vf = [`fps=${fpsArg(o.fps)}`];
  const ss = o.startSec ? seekArg(o.startSec, o.fps) : null;
  // Small frames are half-block pictures, one pixel per half cell: area averaging and full-resolution
  // chroma keep a still part of the picture the same from frame to frame (so the diffing renderer
  // rewrites fewer cells) and keep thin colour edges. Larger frames keep the cheaper settings.
  const small = isSmallFrame(o.width, o.height);
  const rgb = o.format === "rgb";
  if (rgb && !(o.width && o.height)) throw new FfmpegError("Raw RGB frames need a frame size");
  if (o.width && o.height) vf.push(`scale=${o.width}:${o.height}:flags=${small ? "area" : "bilinear"}`);
  const oneThread = !!(o.width && o.height && o.width * o.height <= ONE_THREAD_PIXELS);
  return [
    ...["-hide_banner", "-loglevel", "error", "-nostdin"],
    // First-frame latency: frame threading holds the first picture back until several frames are in
    // flight (~60 ms more at 1080p), and even slice threads cost ~40 ms to start. Frames up to 720p
    // decode on one thread (a 720p frame is ~2 ms of decode: 24 fps needs no more), 1080p on slices.
    ...(oneThread ? ["-threads", "1"] : ["-thread_type", "slice"]),
    // Small frames skip the H.264 deblocking filter: a third of this ffmpeg's CPU at 240p (480
    // frames to raw 200×118: ~440 → ~320 ms), and after the area scale-down the picture differs
    // from the filtered one by 49 dB PSNR on average (43 at worst) — below what half-blocks show.
    ...(small ? ["-skip_loop_filter", "all"] : []),
    ...(ss !== null ? ["-ss", ss] : []),
    ...["-i", o.input, "-an", "-sn", "-vf", vf.join(",")],
    // Half-block frames are encoded on one thread too: the encoder's default threads cost a 200×118
    // stream 0.67 s of CPU per 480 frames instead of 0.47. Larger frames keep them (one thread saves
    // 9 % at 720p, but ten 720p viewers on two cores then got 21–22 fps in bench `video`, which this
    // noisy machine did not settle either way).
    ...(small ? ["-threads", "1"] : []),
    ...(o.maxFrames !== undefined ? ["-frames:v", String(Math.max(0, Math.floor(o.maxFrames)))] : []),
    ...(rgb ? ["-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"] : [
      ...["-pix_fmt", small ? "yuvj444p" : "yuvj420p", "-f", "image2pipe", "-c:v", "mjpeg"],
      ...["-q:v", String(o.quality ?? 5), "pipe:1"],
    ]),
  ];
}

/** Starts ffmpeg streaming frames; throws FfmpegError if it cannot be started. */
export function spawnMjpeg(opts: MjpegOptions): MjpegSource {
  const child = startFfmpeg(opts.ffmpeg, mjpegArgs(opts), "null"); // the options are checked first
  const errText = (async () => {
    const dec = new TextDecoder();
    let s = "";
    for await (const c of child.stderr) if (s.length < 8192) s += dec.decode(c, { stream: true });
    return s;
  })();
  return frameSource(child, opts, errText);
}

function startFfmpeg(ffmpeg: string, args: string[], stdin: "null" | "piped"): Deno.ChildProcess {
  try {
    return new Deno.Command(ffmpeg, { args, stdin, stdout: "piped", stderr: "piped" }).spawn();
  } catch (e) {
    throw spawnError(ffmpeg, e);
  }
}

/** The frames of a started ffmpeg (`opts` as it was started with; `errText`: its stderr, whole). */
function frameSource(child: Deno.ChildProcess, opts: MjpegOptions, errText: Promise<string>): MjpegSource {
  let stopping = false;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const reader = child.stdout.getReader();
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      opts.signal?.removeEventListener("abort", onAbort);
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await reader.cancel().catch(() => {});
      await status;
      await errText.catch(() => "");
    })();
    return stopped;
  };
  const onAbort = () => void stop();
  if (opts.signal?.aborted) void stop();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });

  async function* frames(): AsyncGenerator<Uint8Array> {
    const splitter = opts.format === "rgb"
      ? new RawSplitter(opts.width! * opts.height! * 3, opts.pool)
      : new MjpegSplitter();
    try {
      for (;;) {
        const r = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (r.done) break;
        for (const f of splitter.push(r.value)) {
          if (stopping) return;
          yield f;
        }
      }
      const st = await status;
      if (!stopping && !st.success) {
        const msg = (await errText).trim().split("\n").at(-1) ?? "";
        throw new FfmpegError(`ffmpeg exited with ${st.code} on ${opts.input}: ${msg}`);
      }
    } finally {
      await stop();
    }
  }
  let used = false;
  return {
    pid: child.pid,
    stop,
    [Symbol.asyncIterator]() {
      if (used) throw new Error("An MjpegSource can be iterated once");
      used = true;
      return frames();
    },
  };
}

/**
 * An ffmpeg started before its file's facts are known (issue 75: no separate probe before the first
 * frame). It opens the file at once with the arguments of a `guess` — all but the filters, which it
 * then reads from its stdin —, says the file's facts in its own header on stderr (`info`, read by
 * `parseProbe`) and waits. `bind` gives it the options chosen from them.
 */
export interface EarlyMjpeg {
  /** Process id of the ffmpeg started early. */
  readonly pid: number;
  /**
   * The file's facts from this ffmpeg's header. When it printed none (the file is no video, or this
   * ffmpeg reads no filters from stdin) they come from `probe`, whose FfmpegError says why.
   */
  readonly info: Promise<ProbeInfo>;
  /**
   * The frames for `opts` (once): this ffmpeg, given `opts`' filters, when its other arguments are
   * `opts`' own; else it is stopped and `spawn` (default `spawnMjpeg`) starts one for `opts`.
   */
  bind(opts: MjpegOptions, spawn?: (o: MjpegOptions) => MjpegSource): MjpegSource;
  /** Kills ffmpeg unless `bind` took it, and waits for it. Idempotent. */
  stop(): Promise<void>;
}

/**
 * What a file is guessed to be before its early ffmpeg's header came (`spawnEarly`'s callers make
 * their guess's options from it): most videos then need the arguments it starts with.
 */
export const GUESSED_VIDEO: Readonly<{ fps: number; width: number; height: number }> = {
  fps: 24,
  width: 1920,
  height: 1080,
};

/** `args` (`mjpegArgs`') with its filters read from stdin and the header printed; null without filters. */
function earlyArgs(args: string[]): string[] | null {
  const vf = args.indexOf("-vf"), level = args.indexOf("-loglevel");
  if (vf < 0 || level < 0) return null;
  const a = [...args];
  a.splice(vf, 2, "-filter_script:v", "pipe:0");
  a.splice(level, 2, "-loglevel", "info", "-nostats");
  return a;
}

/** The end of the first video stream's line in an ffmpeg header, or -1 while it has not come whole. */
function headerEnd(text: string): number {
  const m = /Stream #[^\n]*Video:[^\n]*\n/.exec(text);
  return m ? m.index + m[0].length : -1;
}

/** Starts ffmpeg on `guess.input` before its facts are known (see `EarlyMjpeg`). */
export function spawnEarly(guess: MjpegOptions): EarlyMjpeg {
  const args = mjpegArgs(guess);
  const early = earlyArgs(args)!;
  const child = startFfmpeg(guess.ffmpeg, early, "piped");
  const state = { taken: false, stopped: null as Promise<void> | null };
  const read = readHeader(child.stderr);
  const info = read.header.then(async (h) => {
    try {
      if (h) return parseProbe(h);
    } catch { /* a video stream without a size: probe's own error */ }
    if (state.stopped) throw new FfmpegError(`Stopped before reading ${guess.input}`);
    await stop();
    return await probe(guess.ffmpeg, guess.input); // its error (or an ffmpeg without the early form)
  });
  info.catch(() => {});
  const stop = (): Promise<void> => {
    if (state.taken) return Promise.resolve();
    state.stopped ??= (async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.stdin.close().catch(() => {});
      await child.stdout.cancel().catch(() => {});
      await child.status;
      await read.all;
    })();
    return state.stopped;
  };
  const bind = (opts: MjpegOptions, spawn = spawnMjpeg): MjpegSource => {
    const want = mjpegArgs(opts);
    const same = opts.ffmpeg === guess.ffmpeg && sameArgs(earlyArgs(want), early);
    if (state.taken || state.stopped || !same) {
      void stop();
      return spawn(opts);
    }
    state.taken = true;
    const w = child.stdin.getWriter();
    void w.write(new TextEncoder().encode(want[want.indexOf("-vf") + 1]!)).then(() => w.close()).catch(
      () => {},
    );
    return frameSource(child, opts, read.all);
  };
  return { pid: child.pid, info, bind, stop };
}

function sameArgs(a: string[] | null, b: string[]): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Reads an ffmpeg's stderr: `header` is the text up to the first video stream's line once it came
 * (null when the stream ended, or 64 KiB came, without one); `all` the stderr's last 8 KiB after it
 * (what errors quote: their last line is ffmpeg's own; this ffmpeg says more than errors).
 */
function readHeader(
  stderr: ReadableStream<Uint8Array>,
): { header: Promise<string | null>; all: Promise<string> } {
  let found!: (h: string | null) => void;
  const header = new Promise<string | null>((r) => (found = r));
  const all = (async () => {
    const dec = new TextDecoder();
    let head: string | null = "", s = "";
    for await (const c of stderr) {
      const t = dec.decode(c, { stream: true });
      if (head === null) {
        s = (s + t).slice(-8192);
        continue;
      }
      head += t;
      const end = headerEnd(head);
      if (end >= 0 || head.length > 65536) {
        found(end >= 0 ? head.slice(0, end) : null);
        s = end >= 0 ? head.slice(end) : "";
        head = null;
      }
    }
    if (head !== null) (found(null), s = head.slice(-8192));
    return s;
  })();
  all.catch(() => found(null));
  return { header, all };
}

/**
 * The first frame of `input` at its own size, as the JPEG a stream from 0 would send (`mjpegArgs`
 * with one frame): a stream starts by sending it while its ffmpeg is still starting.
 */
export async function firstFrameJpeg(ffmpeg: string, input: string, fps: number): Promise<Uint8Array> {
  const f = await Array.fromAsync(spawnMjpeg({ ffmpeg, input, fps, maxFrames: 1 }));
  if (f.length !== 1) throw new FfmpegError(`No first frame in ${input}`);
  return f[0]!;
}

/** A received picture scaled for the screen (RGB24, `channels` 3), or why it is not shown. */
export type ImageThumbnail =
  | { ok: true; header: ImageHeader; image: RgbaImage }
  | ImageRefusal;

const IMAGE_DEMUXER: Record<ImageFormat, string> = {
  jpeg: "jpeg_pipe",
  png: "png_pipe",
  webp: "webp_pipe",
  gif: "gif",
};

/** The most data (heap) a picture's decoder may take (RLIMIT_DATA through `prlimit`: issue 69 item 11). */
export const DECODER_DATA_BYTES = 256 * 1024 * 1024;

const PRLIMIT = ["/usr/bin/prlimit", "/bin/prlimit"];

/** The `prlimit` binary (util-linux), or null: Linux only. */
export function findPrlimit(exists: (path: string) => boolean = isFile): string | null {
  return Deno.build.os === "linux" ? PRLIMIT.find(exists) ?? null : null;
}

/**
 * The command that decodes the first frame of the picture at `path` (header `h`, checked) scaled to
 * `out`: ffmpeg told the format, its decoder capped at the format's pixels, under `prlimit
 * --data=DECODER_DATA_BYTES` when there is one (a picture needing more is not decoded).
 */
export function pictureDecoder(
  ffmpeg: string,
  path: string,
  h: ImageHeader,
  out: { width: number; height: number },
  caps: ImageCaps = IMAGE_CAPS,
  prlimit: string | null = findPrlimit(),
): { cmd: string; args: string[] } {
  const args = [
    ...["-hide_banner", "-loglevel", "error", "-nostdin", "-threads", "1"],
    // ffmpeg counts rows padded (to 64): near the cap a side is over 3000 pixels, so 3% covers them.
    ...["-max_pixels", String(Math.ceil(pixelCap(h.format, caps) * 1.03)), "-f", IMAGE_DEMUXER[h.format]],
    ...["-i", path],
    ...["-frames:v", "1", "-vf", `scale=${out.width}:${out.height}:flags=area`],
    ...["-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"],
  ];
  if (!prlimit) return { cmd: ffmpeg, args };
  return { cmd: prlimit, args: [`--data=${DECODER_DATA_BYTES}`, "--", ffmpeg, ...args] };
}

/**
 * Reads the head of the picture at `path`, checks it against `caps` (image_header.ts) and only
 * then has ffmpeg decode its first frame, told the format (no guessing), its decoder capped at
 * `caps.maxPixels`, scaled inside `box` (aspect kept) to raw RGB24: the output is exactly
 * width × height × 3 bytes, more is never read, and ffmpeg is killed after `timeoutMs` (default 5 s).
 */
export async function imageThumbnail(
  ffmpeg: string | null,
  path: string,
  box: { width: number; height: number },
  opts: { caps?: ImageCaps; timeoutMs?: number } = {},
): Promise<ImageThumbnail> {
  const caps = opts.caps ?? IMAGE_CAPS;
  const file = await Deno.open(path, { read: true });
  let head: Uint8Array, size: number;
  try {
    size = (await file.stat()).size;
    const buf = new Uint8Array(Math.min(IMAGE_HEAD_BYTES, size));
    let n = 0;
    while (n < buf.length) {
      const r = await file.read(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    head = buf.subarray(0, n);
  } finally {
    file.close();
  }
  const check = checkImage(head, size, caps);
  if (!check.ok) return check;
  if (!ffmpeg) return { ok: false, picture: true, reason: `no ffmpeg to decode it (${FFMPEG_HINT})` };
  const h = check.header;
  const out = fitInto(h.width, h.height, Math.max(1, box.width), Math.max(1, box.height));
  const want = out.width * out.height * 3;
  const child = (() => {
    const run = pictureDecoder(ffmpeg, path, h, out, caps);
    try {
      return new Deno.Command(run.cmd, {
        args: run.args,
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).spawn();
    } catch (e) {
      throw spawnError(ffmpeg, e);
    }
  })();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, opts.timeoutMs ?? 5000);
  const data = new Uint8Array(want);
  let got = 0;
  const reader = child.stdout.getReader();
  try {
    while (got < want) {
      const r = await reader.read();
      if (r.done) break;
      const take = Math.min(r.value.length, want - got);
      data.set(r.value.subarray(0, take), got);
      got += take;
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
  }
  if (got < want) return { ok: false, picture: true, reason: "ffmpeg could not decode it" };
  return { ok: true, header: h, image: { width: out.width, height: out.height, data, channels: 3 } };
}
