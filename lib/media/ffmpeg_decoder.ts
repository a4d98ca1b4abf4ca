/**
 * FfmpegJpegDecoder — the client's fast JPEG decode path when ffmpeg is installed: ONE long-lived
 * ffmpeg reads the frames on stdin (multipart JPEG, each part with its length, so no frame waits
 * for the next one) and writes raw RGBA at the frame's own size on stdout (single-threaded decode
 * and output: no frame delay), read in place into each frame's own buffer. The process starts at
 * `warm()` (before the first frame arrives).
 * It keeps each frame's own size (`-autoscale 0`), so one process serves a play whose sizes change
 * (a kitty or sixel play's poster comes at its rendition's size, the frames after it at the pane's):
 * a second ffmpeg start is ~0.1 s of CPU on the client, at the moment the first picture is wanted.
 * An ffmpeg older than 4.4 has no `-autoscale`: when the first process ends without answering, the
 * decoder goes on the older way, where a spare process takes over when the frame size changes (the
 * old one answers its frames, then ends): started with the first one when `spare` is set (frame
 * sizes that follow the rendition), otherwise only after a first size change. It has
 * the `JpegDecoder` API: answers come in order; input without a JPEG frame header, a process that
 * cannot start, dies or stalls (`stallMs`; `startMs` more until its first answer) sends that frame
 * and every later one to the fallback (WASM `JpegDecoder`), which is only started (`warm()`) when
 * first needed: its worker costs ~0.1 s of CPU. `output` "rgb": ffmpeg answers RGB (`channels` 3) instead of RGBA; "yuv": planar YUV
 * 4:4:4 that the decoder turns into RGBA itself (`yuvToRgba`). `close()` kills and reaps
 * the processes. This file is a process spawner (ARCHITECTURE.md rule 2) beside ffmpeg.ts; the
 * binary comes from `findFfmpeg` there.
 */
import { jpegSize } from "./jpeg_header.ts";
import { type RgbaImage, yuvToRgba } from "./jpeg.ts";

/** What a player needs of a decoder (JpegDecoder and FfmpegJpegDecoder). */
export interface FrameDecoder {
  /** Decodes one JPEG to pixels; answers come in the order the frames were given. */
  decode(jpeg: Uint8Array): Promise<RgbaImage>;
  /** Starts the decoder early (before the first frame arrives); resolves when it is ready. */
  warm(): Promise<void>;
  /** Stops the decoder and frees what it holds; idempotent. */
  close(): void;
}

/** What the decoding process writes: RGBA, RGB, or planar full-range YUV 4:4:4 (converted here). */
export type DecoderOutput = "rgba" | "rgb" | "yuv";

const PIX_FMT: Record<DecoderOutput, string> = { rgba: "rgba", rgb: "rgb24", yuv: "yuvj444p" };

/**
 * The ffmpeg arguments of the decoding process (exported for tests). `autoscale` false: the output
 * takes the first frame's size (ffmpeg's default, and all an ffmpeg before 4.4 can do).
 */
export function decoderArgs(out: DecoderOutput = "rgba", autoscale = false): string[] {
  return [
    ...["-hide_banner", "-loglevel", "error"],
    ...["-threads", "1", "-probesize", "32", "-analyzeduration", "0", "-f", "mpjpeg", "-i", "-"],
    ...["-threads", "1", "-fps_mode", "passthrough", "-flush_packets", "1"],
    ...(autoscale ? [] : ["-autoscale", "0"]),
    ...["-f", "rawvideo", "-pix_fmt", PIX_FMT[out], "-"],
  ];
}

type Job = {
  width: number;
  height: number;
  jpeg: Uint8Array;
  /** `ffmpeg`: false when the fallback answered. */
  resolve: (i: RgbaImage, ffmpeg: boolean) => void;
  reject: (e: unknown) => void;
  /** Once given to a process: the frame as asked, and its stall timer. */
  asked?: Job;
  timer?: ReturnType<typeof setTimeout>;
};

const enc = new TextEncoder();

/** What a read between frames asks for (a pipe holds 64 KiB). */
const IDLE_READ = 64 * 1024;

/** One ffmpeg process: frames in, RGBA out, answered in order (of one size when `autoscale`). */
class Proc {
  readonly child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly jobs: Job[] = [];
  size: { width: number; height: number } | null = null;
  #buf: Uint8Array | null = null;
  #filled = 0;
  dead = false;
  /** Frames it answered. */
  answered = 0;

  readonly channels: 3 | 4;

  constructor(
    ffmpeg: string,
    readonly out: DecoderOutput,
    readonly autoscale: boolean,
    readonly onLost: (p: Proc) => void,
  ) {
    this.channels = out === "rgba" ? 4 : 3;
    this.child = new Deno.Command(ffmpeg, {
      args: decoderArgs(out, autoscale),
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    void this.#read(); // its end (stdout closed: the process ended) hands pending frames on
  }

  /**
   * Reads the answers in place (a BYOB reader): while a frame is awaited its bytes go straight into
   * that frame's own buffer, with no chunk allocated and copied (at 1280×720 RGB, ~1 ms of CPU a
   * frame less); between frames a small read waits for the next answer (or the end) and its bytes
   * are copied (`#take`). Output nobody asked for loses the process.
   */
  async #read(): Promise<void> {
    let idle: Uint8Array = new Uint8Array(IDLE_READ);
    try {
      const reader = this.child.stdout.getReader({ mode: "byob" });
      for (;;) {
        const job = this.jobs[0];
        if (job) this.#buf ??= new Uint8Array(job.width * job.height * this.channels);
        const into = job ? this.#buf!.subarray(this.#filled) : idle;
        const r = await reader.read(into); // (takes `into`'s memory and gives it back as `r.value`)
        if (r.done) break;
        const got = r.value!;
        if (!job) {
          idle = new Uint8Array(got.buffer);
          if (!this.#take(got)) return this.#lose(); // output nobody asked for
          continue;
        }
        this.#buf = new Uint8Array(got.buffer);
        this.#filled += got.byteLength;
        if (this.#filled === this.#buf.length) this.#answer();
      }
    } catch { /* closed */ }
    this.#lose();
  }

  /** Copies `chunk` into the awaited frames, answering each one filled; false when no frame awaits it. */
  #take(chunk: Uint8Array): boolean {
    let o = 0;
    while (o < chunk.length) {
      const job = this.jobs[0];
      if (!job) return false;
      this.#buf ??= new Uint8Array(job.width * job.height * this.channels);
      const n = Math.min(chunk.length - o, this.#buf.length - this.#filled);
      this.#buf.set(chunk.subarray(o, o + n), this.#filled);
      this.#filled += n;
      o += n;
      if (this.#filled === this.#buf.length) this.#answer();
    }
    return true;
  }

  /** The first awaited frame is whole in `#buf`: answers it. */
  #answer(): void {
    const job = this.jobs.shift()!, buf = this.#buf!;
    this.answered++;
    this.#buf = null;
    this.#filled = 0;
    job.resolve(
      this.out === "yuv"
        ? yuvToRgba(buf, job.width, job.height)
        : { width: job.width, height: job.height, data: buf, channels: this.channels },
      true,
    );
  }

  #lose(): void {
    if (this.dead) return;
    this.dead = true;
    this.kill();
    this.onLost(this);
  }

  send(job: Job): void {
    this.jobs.push(job);
    const head = enc.encode(`--f\r\nContent-Type: image/jpeg\r\nContent-Length: ${job.jpeg.length}\r\n\r\n`);
    const part = new Uint8Array(head.length + job.jpeg.length + 2);
    part.set(head);
    part.set(job.jpeg, head.length);
    part.set([13, 10], head.length + job.jpeg.length);
    this.#writer.write(part).catch(() => this.#lose());
  }

  /** No more input: the frames sent are still answered, then the process exits. */
  end(): void {
    this.#writer.close().catch(() => {});
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already ended */ }
  }
}

/** Decodes JPEG frames with one long-lived ffmpeg process, falling back to `JpegDecoder` (see the module comment). */
export class FfmpegJpegDecoder implements FrameDecoder {
  readonly #ffmpeg: string;
  readonly #fallback: FrameDecoder;
  readonly #stallMs: number;
  readonly #startMs: number;
  #proc: Proc | null = null;
  #spare: Proc | null = null;
  readonly #all = new Set<Proc>();
  #failed = false;
  /** The process scales every frame to the first one's size (an ffmpeg without `-autoscale 0`). */
  #autoscale = false;
  /** With `#autoscale`: keep a spare process from the start (else only once the size changed). */
  #eagerSpare: boolean;
  /** The fallback's warm-up, once started (it is started only when needed). */
  #fallbackWarm: Promise<void> | null = null;
  readonly #out: DecoderOutput;
  /** Frames ffmpeg answered (tests check it was used). */
  onFfmpeg = 0;

  /**
   * `output` (default "rgba"): "rgb" makes ffmpeg answer RGB (`channels` 3, for the kitty renderer:
   * no packing, a quarter less to read; the fallback still answers RGBA); "yuv" makes it answer YUV
   * 4:4:4, which this decoder turns into RGBA (for half-blocks' small 4:4:4 frames: ffmpeg's
   * conversion cost more than the decode). `stallMs` (default 2 s): a frame not answered in that
   * time sends it and every later one to the fallback; until a process's first answer it may take
   * `startMs` (default 10 s) more, since starting ffmpeg cold on a busy machine is not a stall (a CI
   * machine took over 2 s, and the whole play went to WASM).
   */
  constructor(
    ffmpeg: string,
    fallback: FrameDecoder,
    opts: { stallMs?: number; startMs?: number; spare?: boolean; output?: DecoderOutput } = {},
  ) {
    this.#ffmpeg = ffmpeg;
    this.#fallback = fallback;
    this.#stallMs = opts.stallMs ?? 2000;
    this.#startMs = opts.startMs ?? 10_000;
    this.#eagerSpare = opts.spare ?? true;
    this.#out = opts.output ?? "rgba";
  }

  /** What its ffmpeg writes (tests). */
  get output(): DecoderOutput {
    return this.#out;
  }

  /** Processes running now (the current one, and its spare with an older ffmpeg; tests). */
  get processes(): number {
    return this.#all.size;
  }

  /** True once ffmpeg failed: every frame goes to the fallback. */
  get failed(): boolean {
    return this.#failed;
  }

  #spawn(): Proc | null {
    try {
      const p = new Proc(this.#ffmpeg, this.#out, this.#autoscale, (lost) => this.#lost(lost));
      this.#all.add(p);
      void p.child.status.then(() => this.#all.delete(p), () => this.#all.delete(p));
      return p;
    } catch {
      this.#failed = true; // not installed after all, or no permission to run it
      return null;
    }
  }

  /**
   * The current process, else (an older ffmpeg) the spare (already started, so a size change costs
   * no spawn), and a new spare behind it.
   */
  #start(): Proc | null {
    if (this.#failed) return null;
    if (this.#proc && !this.#proc.dead) return this.#proc;
    const spare = this.#spare && !this.#spare.dead ? this.#spare : null;
    this.#spare = null;
    this.#proc = spare ?? this.#spawn();
    if (this.#proc && !this.#failed && this.#autoscale && this.#eagerSpare) this.#spare = this.#spawn();
    return this.#proc;
  }

  /**
   * A process ended with frames pending: those go to the fallback, and so do later ones. The first
   * process ending without an answer may be an ffmpeg without `-autoscale`: its frames go to one
   * started the older way (if that one fails too, to the fallback).
   */
  #lost(p: Proc): void {
    if (this.#proc === p) this.#proc = null;
    if (this.#spare === p) this.#spare = null;
    const jobs = p.jobs.splice(0);
    if (!p.autoscale && p.answered === 0 && !this.#failed) {
      this.#autoscale = true;
      for (const j of jobs) {
        clearTimeout(j.timer);
        this.#send(j.asked ?? j);
      }
      return;
    }
    if (jobs.length) this.#failed = true;
    for (const j of jobs) this.#fallbackDecode(j.jpeg).then((i) => j.resolve(i, false), j.reject);
  }

  /** Starts the fallback (once). */
  #warmFallback(): Promise<void> {
    return this.#fallbackWarm ??= this.#fallback.warm();
  }

  /** The fallback's answer; its first use starts it (it decodes in-thread while its worker loads). */
  #fallbackDecode(jpeg: Uint8Array): Promise<RgbaImage> {
    void this.#warmFallback();
    return this.#fallback.decode(jpeg);
  }

  /** Starts ffmpeg now; without it (not installed), the fallback. */
  warm(): Promise<void> {
    this.#start();
    return this.#failed ? this.#warmFallback() : Promise.resolve();
  }

  /** Decodes one JPEG to pixels; answers come in the order the frames were given. */
  decode(jpeg: Uint8Array): Promise<RgbaImage> {
    const size = jpegSize(jpeg);
    if (!size) return this.#fallbackDecode(jpeg);
    return new Promise<RgbaImage>((resolve, reject) => this.#send({ ...size, jpeg, resolve, reject }));
  }

  /** Gives a frame to the current process (with a stall timer), else to the fallback. */
  #send(job: Job): void {
    let p = this.#start();
    if (p && this.#autoscale && p.size && (p.size.width !== job.width || p.size.height !== job.height)) {
      p.end(); // its pending frames are still answered
      this.#proc = null;
      this.#eagerSpare = true; // the size changed once: keep a spare for the next change
      p = this.#start();
    }
    if (!p) {
      this.#fallbackDecode(job.jpeg).then((i) => job.resolve(i, false), job.reject);
      return;
    }
    p.size = { width: job.width, height: job.height };
    const proc = p;
    const ms = this.#stallMs + (proc.answered === 0 ? this.#startMs : 0);
    const timer = setTimeout(() => proc.kill(), ms); // stalled: its jobs fall back
    proc.send({
      ...job,
      asked: job,
      timer,
      resolve: (i, ffmpeg) => {
        clearTimeout(timer);
        if (ffmpeg) this.onFfmpeg++;
        job.resolve(i, ffmpeg);
      },
      reject: (e) => {
        clearTimeout(timer);
        job.reject(e);
      },
    });
  }

  /** Kills every process of this decoder; resolves once they were reaped. */
  async closed(): Promise<void> {
    this.close();
    await Promise.all([...this.#all].map((p) => p.child.status.catch(() => {})));
  }

  /** Kills the decoding processes and closes the fallback; idempotent. */
  close(): void {
    this.#failed = true;
    for (const p of this.#all) p.kill();
    this.#proc = this.#spare = null;
    this.#fallback.close();
  }
}
