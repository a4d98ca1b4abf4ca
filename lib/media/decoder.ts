/**
 * JpegDecoder — JPEG decoding off the main thread: one worker (decode_worker.ts) decodes while the
 * caller encodes and writes the previous frame, so a player's decode and paint overlap on two
 * cores. Jobs are answered in order. `warm()` starts the worker and its WASM module early (before
 * the first frame arrives); frames that come before the worker is ready are decoded in-thread, so
 * a slow worker start never delays the first picture. When the worker cannot start or dies, it
 * decodes in-thread from then on (`decodeJpeg`); undecodable input rejects with SyntaxError.
 */
import { decodeJpeg, type RgbaImage } from "./jpeg.ts";

type Reply = { id: number; ok: true; width: number; height: number; data: Uint8Array } | {
  id: number;
  ok: false;
  message: string;
};

/** Decodes JPEG frames on one worker, in order, falling back to in-thread decoding (see the module comment). */
export class JpegDecoder {
  #worker: Worker | null = null;
  #failed = false;
  /** The worker answered its warm-up: frames go to it from now on. */
  #ready = false;
  #seq = 0;
  readonly #waiting = new Map<
    number,
    { jpeg: Uint8Array; resolve: (i: RgbaImage) => void; reject: (e: unknown) => void }
  >();
  readonly #url: string;
  /** Jobs the worker answered (tests check the worker was used). */
  onWorker = 0;

  /** `workerUrl` replaces the worker module (tests point it at one that cannot start). */
  constructor(opts: { workerUrl?: string } = {}) {
    this.#url = opts.workerUrl ?? new URL("./decode_worker.ts", import.meta.url).href;
  }

  #start(): Worker | null {
    if (this.#worker || this.#failed) return this.#worker;
    try {
      const w = new Worker(this.#url, { type: "module" });
      w.onmessage = (e: MessageEvent<Reply>) => this.#reply(e.data);
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault(); // otherwise the error ends the whole process
        this.#lost();
      };
      this.#worker = w;
    } catch {
      this.#failed = true;
    }
    return this.#worker;
  }

  #reply(r: Reply): void {
    const w = this.#waiting.get(r.id);
    if (!w) return;
    this.#waiting.delete(r.id);
    this.onWorker++;
    if (r.ok) w.resolve({ width: r.width, height: r.height, data: r.data });
    else w.reject(new SyntaxError(r.message));
  }

  /** The worker failed: decode its pending jobs (and all later ones) in-thread. */
  #lost(): void {
    this.#worker?.terminate();
    this.#worker = null;
    this.#failed = true;
    const jobs = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const j of jobs) decodeJpeg(j.jpeg).then(j.resolve, j.reject);
  }

  /** Starts the worker and initialises its decoder now. */
  warm(): Promise<void> {
    return this.#job(new Uint8Array(0)).then(() => void (this.#ready = true), () => {});
  }

  /** Decodes one JPEG to pixels; answers come in the order the frames were given. Rejects undecodable input with SyntaxError. */
  decode(jpeg: Uint8Array): Promise<RgbaImage> {
    // Warming up (worker still loading): in-thread, as without a worker.
    if (this.#worker && !this.#ready) return decodeJpeg(jpeg);
    return this.#job(jpeg);
  }

  #job(jpeg: Uint8Array): Promise<RgbaImage> {
    const w = this.#start();
    if (!w) return jpeg.length ? decodeJpeg(jpeg) : Promise.resolve({ width: 0, height: 0, data: jpeg });
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { jpeg, resolve, reject });
      w.postMessage({ id, jpeg });
    });
  }

  /** Ends the worker; pending jobs finish in-thread. */
  close(): void {
    const w = this.#worker;
    this.#worker = null;
    this.#failed = true;
    w?.terminate();
    const jobs = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const j of jobs) decodeJpeg(j.jpeg).then(j.resolve, j.reject);
  }
}
