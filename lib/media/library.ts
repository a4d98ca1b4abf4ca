/**
 * VideoLibrary — the only module here that touches the file system. Scans the videos folder,
 * probes each source, makes the missing renditions (240p, 720p, 1080p; never taller than the
 * source) under `<data>/renditions/<name>/<height>.mp4` with each one's first frame beside it
 * (`<height>.jpg`, a stream's poster), reuses cached ones that are newer than their source, and
 * returns the listing. Without ffmpeg, `scan()` throws `FfmpegMissingError`
 * (the rest of the program keeps working).
 */

import { FFMPEG_HINT, firstFrameJpeg, makeRendition, probe, type ProbeInfo } from "./ffmpeg.ts";
import { type Rendition, RENDITION_HEIGHT, RENDITIONS } from "./thirds.ts";

export const VIDEO_EXTENSIONS: readonly string[] = [".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v"];

/** `name` without a trailing video extension (`sample.MP4` → `sample`); other names unchanged. */
function withoutVideoExtension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 && VIDEO_EXTENSIONS.includes(name.slice(dot).toLowerCase()) ? name.slice(0, dot) : name;
}

/** Raised by video operations when no ffmpeg was found. */
export class FfmpegMissingError extends Error {
  /** The error's name, for logs and `instanceof`-free checks. */
  override name = "FfmpegMissingError";
  constructor() {
    super(`Video is unavailable: ffmpeg was not found (${FFMPEG_HINT})`);
  }
}

/** One video of the library: its source, its size and the renditions made of it. */
export interface VideoInfo {
  /** The name users play it by (file name without its video extension). */
  name: string;
  /** Seconds. */
  duration: number;
  /** Frames per second of the source. */
  fps: number;
  /** Width of the source in pixels. */
  width: number;
  /** Height of the source in pixels. */
  height: number;
  /** The renditions that exist (never taller than the source). */
  renditions: Rendition[];
}

/** Where the library reads videos and keeps renditions. */
export interface LibraryOptions {
  /** The folder of source videos. */
  videosDir: string;
  /** The data folder; renditions go under `<dataDir>/renditions/`. */
  dataDir: string;
  /** Path from `findFfmpeg`, or null when there is none. */
  ffmpeg: string | null;
  /** Progress messages ("making 720p of sample"). */
  onLog?: (message: string) => void;
  /** Aborting ends a scan early and kills a rendition encode in progress. */
  signal?: AbortSignal;
}

/** The renditions made for a source of this height: never an upscale. */
export function renditionsFor(sourceHeight: number): Rendition[] {
  const fit = RENDITIONS.filter((r) => RENDITION_HEIGHT[r] <= sourceHeight);
  return fit.length > 0 ? fit : ["240p"];
}

/** Encoded height of a rendition for a source (a source below 240 lines keeps its own height). */
export function renditionHeight(r: Rendition, sourceHeight: number): number {
  return Math.min(RENDITION_HEIGHT[r], sourceHeight - (sourceHeight % 2));
}

function join(...parts: string[]): string {
  return parts.map((p, i) => (i === 0 ? p.replace(/\/+$/, "") : p.replace(/^\/+|\/+$/g, ""))).join("/");
}

async function mtime(path: string): Promise<number | null> {
  try {
    const st = await Deno.stat(path);
    return st.isFile && st.size > 0 ? (st.mtime?.getTime() ?? 0) : null;
  } catch {
    return null;
  }
}

interface Entry {
  info: VideoInfo;
  source: string;
}

/** The server's video library: scans, probes and makes renditions (see the module comment). */
export class VideoLibrary {
  readonly #opts: LibraryOptions;
  #entries = new Map<string, Entry>();
  #scanning: Promise<VideoInfo[]> | null = null;

  /** Nothing is read until `scan()`. */
  constructor(opts: LibraryOptions) {
    this.#opts = opts;
  }

  /** True when ffmpeg was found. */
  get available(): boolean {
    return this.#opts.ffmpeg !== null;
  }

  /** The ffmpeg path; throws FfmpegMissingError when there is none. */
  get ffmpeg(): string {
    if (this.#opts.ffmpeg === null) throw new FfmpegMissingError();
    return this.#opts.ffmpeg;
  }

  /** The listing from the last scan, sorted by name. */
  list(): VideoInfo[] {
    return [...this.#entries.values()].map((e) => ({ ...e.info, renditions: [...e.info.renditions] }));
  }

  /** The video called `name`; `sample.mp4` finds `sample` (any video extension may be given). */
  get(name: string): VideoInfo | undefined {
    const e = this.#entries.get(name) ?? this.#entries.get(withoutVideoExtension(name));
    return e && { ...e.info, renditions: [...e.info.renditions] };
  }

  /** The source file of the video called `name` (exact name), if listed. */
  sourcePath(name: string): string | undefined {
    return this.#entries.get(name)?.source;
  }

  /** Where the rendition of `name` lives (whether or not it exists yet). */
  renditionPath(name: string, r: Rendition): string {
    return join(this.#opts.dataDir, "renditions", name, `${RENDITION_HEIGHT[r]}.mp4`);
  }

  /** Where the first frame of a rendition lives (whether or not it exists yet). */
  posterPath(name: string, r: Rendition): string {
    return join(this.#opts.dataDir, "renditions", name, `${RENDITION_HEIGHT[r]}.jpg`);
  }

  /** The first frame of each rendition of `name` that has one (JPEG at the rendition's size). */
  async posters(name: string): Promise<Map<Rendition, Uint8Array>> {
    const out = new Map<Rendition, Uint8Array>();
    const renditions = this.#entries.get(name)?.info.renditions ?? [];
    // Read side by side: a play waits for them before its reply (issue 75).
    const read = await Promise.all(
      renditions.map((r) => Deno.readFile(this.posterPath(name, r)).catch(() => null)),
    );
    renditions.forEach((r, i) => {
      const jpeg = read[i];
      if (jpeg && jpeg.length > 0) out.set(r, jpeg);
    });
    return out;
  }

  /** Scans, makes missing renditions, and returns the listing. Concurrent calls share one scan. */
  scan(): Promise<VideoInfo[]> {
    this.#scanning ??= this.#scan().finally(() => (this.#scanning = null));
    return this.#scanning;
  }

  async #scan(): Promise<VideoInfo[]> {
    const ffmpeg = this.ffmpeg;
    const sources = await this.#sources();
    const next = new Map<string, Entry>();
    for (const [name, source] of sources) {
      if (this.#opts.signal?.aborted) throw new Error("The video scan was stopped");
      let info: ProbeInfo;
      try {
        info = await probe(ffmpeg, source);
      } catch (e) {
        this.#opts.onLog?.(`skipping ${name}: ${(e as Error).message}`);
        continue;
      }
      const renditions = await this.#ensureRenditions(name, source, info);
      next.set(name, { source, info: { name, ...info, renditions } });
    }
    this.#entries = next;
    return this.list();
  }

  async #sources(): Promise<Map<string, string>> {
    const found: [string, string][] = [];
    try {
      for await (const e of Deno.readDir(this.#opts.videosDir)) {
        if (!e.isFile && !e.isSymlink) continue;
        const dot = e.name.lastIndexOf(".");
        if (dot <= 0 || !VIDEO_EXTENSIONS.includes(e.name.slice(dot).toLowerCase())) continue;
        found.push([e.name.slice(0, dot), join(this.#opts.videosDir, e.name)]);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return new Map();
      throw e;
    }
    found.sort((a, b) => (a[1] < b[1] ? -1 : 1));
    const out = new Map<string, string>();
    for (const [name, path] of found) if (!out.has(name)) out.set(name, path);
    return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  }

  async #ensureRenditions(name: string, source: string, info: ProbeInfo): Promise<Rendition[]> {
    const srcTime = (await mtime(source)) ?? 0;
    const dir = join(this.#opts.dataDir, "renditions", name);
    await Deno.mkdir(dir, { recursive: true });
    const made: Rendition[] = [];
    for (const r of renditionsFor(info.height)) {
      if (this.#opts.signal?.aborted) break;
      const dst = this.renditionPath(name, r);
      const t = await mtime(dst);
      if (t !== null && t >= srcTime) {
        made.push(r);
        await this.#ensurePoster(name, r, info.fps, t);
        continue;
      }
      const tmp = `${dst}.part`;
      this.#opts.onLog?.(`making ${r} of ${name}`);
      try {
        await makeRendition(this.ffmpeg, source, tmp, renditionHeight(r, info.height), {
          gop: Math.max(1, Math.round(info.fps * 2)),
          signal: this.#opts.signal,
        });
        await Deno.rename(tmp, dst);
        made.push(r);
        await this.#ensurePoster(name, r, info.fps, (await mtime(dst)) ?? 0);
      } catch (e) {
        await Deno.remove(tmp).catch(() => {});
        this.#opts.onLog?.(`cannot make ${r} of ${name}: ${(e as Error).message}`);
      }
    }
    return made;
  }

  /** Makes the rendition's first-frame poster unless one newer than the rendition exists. */
  async #ensurePoster(name: string, r: Rendition, fps: number, renditionTime: number): Promise<void> {
    const dst = this.posterPath(name, r);
    const t = await mtime(dst);
    if (t !== null && t >= renditionTime) return;
    try {
      const jpeg = await firstFrameJpeg(this.ffmpeg, this.renditionPath(name, r), fps);
      await Deno.writeFile(`${dst}.part`, jpeg);
      await Deno.rename(`${dst}.part`, dst);
    } catch (e) {
      await Deno.remove(`${dst}.part`).catch(() => {});
      this.#opts.onLog?.(`cannot make the first frame of ${r} of ${name}: ${(e as Error).message}`);
    }
  }
}
