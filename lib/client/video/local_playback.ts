/**
 * A local video file as a `FrameSource` (peer mode's watch together, issue 39.7: each peer plays its
 * own copy, at its own pane's size). ffmpeg (media/ffmpeg.ts `spawnMjpeg`, the one spawner; its path
 * is the caller's, from `findFfmpeg`) decodes the file from a position, scaled to fit the pane with
 * its aspect kept; each frame carries its presentation time, and a frame is handed over only once
 * it is at most `lead` ms ahead of the playhead, so the player (video/player.ts) paces it. `pause`
 * holds the reading (ffmpeg then blocks on its pipe), `resume` goes on, `seek` and `setPane`
 * restart ffmpeg at the playhead; `next()` resolves null at the end of the file or after `stop`.
 * `openLocalPlayback` runs no probe first: its ffmpeg starts at once and its own header says the
 * file's rate and size (`spawnEarly`, issue 75). Time comes from the injected `now`, and the waits for
 * it from the injected `timers` (default the runtime's).
 */
import { type EarlyMjpeg, GUESSED_VIDEO, type MjpegSource, spawnEarly, spawnMjpeg } from "../../media/mod.ts";
import { systemTimers, type Timers } from "../../common/clock.ts";
import type { VideoHandle } from "../backend.ts";
import type { VideoFrame } from "./video_client.ts";

/** How far ahead of the playhead frames are handed over, ms (the player shows each at its time). */
export const LOCAL_LEAD_MS = 200;

export interface LocalPlaybackOptions {
  ffmpeg: string;
  path: string;
  /** The file's frame rate and size (from its ffmpeg's header). */
  fps: number;
  width: number;
  height: number;
  /** The pane in pixels: frames fit inside it. */
  pane: { width: number; height: number };
  /** Start position, ms. */
  start?: number;
  now: () => number;
  /** What a wait for a frame's time, or for a poke while paused, is set on (tests: `ManualTimers`). */
  timers?: Timers;
}

/** `w`×`h` scaled to fit `box` (never up), even sizes. */
export function fitSize(w: number, h: number, box: { width: number; height: number }) {
  const k = Math.min(1, box.width / w, box.height / h);
  const even = (x: number) => Math.max(2, Math.floor((x * k) / 2) * 2);
  return { width: even(w), height: even(h) };
}

export class LocalPlayback implements VideoHandle {
  readonly lead = LOCAL_LEAD_MS;
  readonly dropped = 0;
  #src: MjpegSource | null = null;
  #it: AsyncIterator<Uint8Array> | null = null;
  /** Playhead: `#pos` at local time `#since` (frozen while paused). */
  #pos: number;
  #since: number;
  #paused = false;
  #stopped = false;
  /** Bumped by each restart: a frame of an older ffmpeg is never handed over. */
  #gen = 0;
  /** Where the running ffmpeg started, ms, and how many frames it gave. */
  #from = 0;
  #count = 0;
  #size: { width: number; height: number };
  #wake: (() => void)[] = [];
  /** The ffmpeg already started on the file (`openLocalPlayback`'s), taken by the first start. */
  #early: EarlyMjpeg | null;

  constructor(readonly o: LocalPlaybackOptions, early?: EarlyMjpeg) {
    this.#early = early ?? null;
    this.#pos = Math.max(0, o.start ?? 0);
    this.#since = o.now();
    this.#size = fitSize(o.width, o.height, o.pane);
    this.#open(this.#pos); // from the start asked, as the early ffmpeg was (however the clock moved since)
  }

  /** Where the playhead is, ms. */
  get position(): number {
    return this.#paused ? this.#pos : this.#pos + (this.o.now() - this.#since);
  }

  /** Starts ffmpeg from `from` ms (the playhead: a seek, a new pane size; the start asked, at first). */
  #open(from = this.position): void {
    void this.#src?.stop();
    this.#gen++;
    this.#from = from;
    this.#count = 0;
    const opts = { ffmpeg: this.o.ffmpeg, input: this.o.path, startSec: this.#from / 1000, fps: this.o.fps };
    const src = this.#early
      ? this.#early.bind({ ...opts, ...this.#size })
      : spawnMjpeg({ ...opts, ...this.#size });
    this.#early = null;
    this.#src = src;
    this.#it = src[Symbol.asyncIterator]();
    this.#poke();
  }

  #poke(): void {
    for (const w of this.#wake.splice(0)) w();
  }

  /** Waits for a poke (pause, resume, seek, stop) or `ms`. */
  #nap(ms: number): Promise<void> {
    const timers = this.o.timers ?? systemTimers;
    return new Promise((r) => {
      const t = timers.set(r, Math.max(0, ms));
      this.#wake.push(() => (timers.clear(t), r()));
    });
  }

  async next(): Promise<VideoFrame | null> {
    for (;;) {
      if (this.#stopped) return null;
      if (this.#paused) {
        await this.#nap(1000);
        continue;
      }
      const gen = this.#gen;
      const r = await this.#it!.next().catch(() => ({ done: true as const, value: undefined }));
      if (gen !== this.#gen) continue; // restarted meanwhile
      if (r.done) return null;
      const index = this.#count++;
      const pts = Math.round(this.#from + (index * 1000) / this.o.fps);
      while (!this.#stopped && gen === this.#gen && pts - this.position > this.lead) {
        await this.#nap(this.#paused ? 1000 : pts - this.position - this.lead);
      }
      if (this.#stopped) return null;
      if (gen !== this.#gen) continue;
      return { pts, index, rendition: "720p", shownAs: "local copy", ...this.#size, data: r.value };
    }
  }

  pause(): Promise<void> {
    this.#pos = this.position;
    this.#paused = true;
    this.#poke();
    return Promise.resolve();
  }

  resume(): Promise<void> {
    if (this.#paused) this.#since = this.o.now();
    this.#paused = false;
    this.#poke();
    return Promise.resolve();
  }

  seek(ms: number): Promise<void> {
    this.#pos = Math.max(0, ms);
    this.#since = this.o.now();
    this.#open();
    return Promise.resolve();
  }

  setPane(width: number, height: number): Promise<void> {
    this.#size = fitSize(this.o.width, this.o.height, { width, height });
    this.#open();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#poke();
    await this.#src?.stop();
  }
}

/**
 * Plays `path` (ffmpeg at `ffmpeg`) from `start` ms, fitting a pane of `pane` pixels: its ffmpeg
 * starts at once and says the file's rate and size in its header; a file that is no video rejects
 * with FfmpegError, its ffmpeg gone.
 */
export async function openLocalPlayback(
  ffmpeg: string,
  path: string,
  start: number,
  pane: { width: number; height: number },
  now: () => number,
  timers?: Timers,
): Promise<LocalPlayback> {
  const startSec = Math.max(0, start) / 1000;
  const early = spawnEarly({
    ffmpeg,
    input: path,
    startSec,
    fps: GUESSED_VIDEO.fps,
    ...fitSize(GUESSED_VIDEO.width, GUESSED_VIDEO.height, pane),
  });
  const i = await early.info;
  try {
    return new LocalPlayback({
      ffmpeg,
      path,
      fps: i.fps || 24,
      width: i.width,
      height: i.height,
      pane,
      start,
      now,
      ...(timers ? { timers } : {}),
    }, early);
  } catch (e) {
    await early.stop();
    throw e;
  }
}
