/**
 * Password hashing with argon2id (hash-wasm) at OWASP parameters: m=19 MiB, t=2, p=1, 16-byte
 * salt, 32-byte tag, PHC string output. The only crypto module the server imports.
 * `PasswordHasher` runs hashes on a small pool of workers so the event loop never blocks for the
 * ~90 ms a hash costs, with bounded concurrency and a bounded queue; if a worker cannot start
 * (e.g. a single-file bundle without `password_worker.ts` beside it: the module load fails
 * asynchronously, as an error event) its slot falls back to hashing in-thread, and the job it
 * held is run again there.
 *
 * Memory: hash-wasm builds a fresh WebAssembly instance (~20 MiB of linear memory) for every hash
 * and V8 frees old ones only at a later collection, so a worker that hashed 10 times in a row
 * could hold ~200 MiB (20 concurrent logins raised server RSS by ~400 MB). A worker is therefore
 * replaced by a fresh one after `recycleAfter` jobs (terminating it frees its heap at once), so
 * the server holds at most workers × recycleAfter × ~20 MiB of hashing memory, whatever the load;
 * the pool never has more than `workers` workers alive or jobs running, and the rest queue.
 */
import { cryptoRandom, type RandomBytes } from "../common/random.ts";

export const MAX_PASSWORD_BYTES = 1024;
/** The shortest password a client registers (the server sees only a derived credential). */
export const MIN_PASSWORD_CHARS = 8;
export const ARGON2 = { memorySize: 19456, iterations: 2, parallelism: 1, hashLength: 32 } as const;

// hash-wasm loads on the first hash, not at import (a client that logs in with a token never needs it).
export async function hashPasswordInline(password: string, salt: Uint8Array): Promise<string> {
  const { argon2id } = await import("hash-wasm");
  return await argon2id({ ...ARGON2, password, salt, outputType: "encoded" });
}

export async function verifyPasswordInline(password: string, hash: string): Promise<boolean> {
  const { argon2Verify } = await import("hash-wasm");
  return await argon2Verify({ password, hash }).catch(() => false);
}

/**
 * A hash refused because the pool's queue is full (a login storm past the bound): an expected
 * failure, which the server answers with a stable code (try again later), never a wait without end.
 */
export class HashQueueFull extends Error {
  constructor() {
    super("Password hashing queue is full");
    this.name = "HashQueueFull";
  }
}

type Job = { op: "hash"; password: string; salt: Uint8Array } | {
  op: "verify";
  password: string;
  hash: string;
};

interface Slot {
  worker: Worker | null;
  busy: boolean;
  /** jobs finished by the current worker */
  jobs: number;
}

export class PasswordHasher {
  readonly #slots: Slot[] = [];
  readonly #queue: { job: Job; resolve: (v: string | boolean) => void; reject: (e: unknown) => void }[] = [];
  readonly #maxQueue: number;
  readonly #rand: RandomBytes;
  #seq = 0;
  readonly #waiting = new Map<
    number,
    { job: Job; resolve: (v: string | boolean) => void; reject: (e: unknown) => void; slot: Slot }
  >();

  readonly #url: string;
  #alive = 0;
  readonly #recycleAfter: number;

  /** `workerUrl` replaces the worker module (tests point it at a missing file). */
  constructor(
    opts: {
      workers?: number;
      maxQueue?: number;
      rand?: RandomBytes;
      workerUrl?: string;
      recycleAfter?: number;
    } = {},
  ) {
    this.#maxQueue = opts.maxQueue ?? 256;
    this.#rand = opts.rand ?? cryptoRandom;
    this.#recycleAfter = Math.max(1, opts.recycleAfter ?? 2);
    const n = opts.workers ?? 2;
    this.#url = opts.workerUrl ?? new URL("./password_worker.ts", import.meta.url).href;
    for (let i = 0; i < n; i++) {
      const slot: Slot = { worker: null, busy: false, jobs: 0 };
      this.#spawn(slot);
      this.#slots.push(slot);
    }
    if (this.#slots.length === 0) this.#slots.push({ worker: null, busy: false, jobs: 0 });
  }

  #spawn(slot: Slot): void {
    slot.jobs = 0;
    try {
      const worker = new Worker(this.#url, { type: "module" });
      worker.onmessage = (e: MessageEvent) =>
        this.#done(e.data as { id: number; ok: boolean; value: string | boolean });
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault(); // otherwise the error ends the whole process
        this.#lost(slot);
      };
      slot.worker = worker;
      this.stats.spawned++;
      this.stats.maxAlive = Math.max(this.stats.maxAlive, ++this.#alive);
    } catch {
      slot.worker = null;
    }
  }

  #stop(slot: Slot): void {
    if (!slot.worker) return;
    slot.worker.terminate();
    slot.worker = null;
    this.#alive--;
  }

  /** A worker failed (e.g. its module is missing): hash in-thread from now on, redo its job. */
  #lost(slot: Slot): void {
    this.#stop(slot);
    for (const [id, w] of this.#waiting) {
      if (w.slot !== slot) continue;
      this.#waiting.delete(id);
      this.#queue.unshift({ job: w.job, resolve: w.resolve, reject: w.reject });
    }
    slot.busy = false;
    this.#pump();
  }

  /**
   * Jobs handed to a worker, the most worker jobs ever running at once, workers started and the
   * most alive at once (tests check them).
   */
  readonly stats = { onWorkers: 0, inline: 0, maxParallel: 0, spawned: 0, maxAlive: 0 };

  /** Hashes being computed or waiting. */
  get load(): number {
    return this.#queue.length + this.#slots.filter((s) => s.busy).length;
  }

  hash(password: string): Promise<string> {
    return this.#submit({ op: "hash", password, salt: this.#rand(16) }) as Promise<string>;
  }

  verify(password: string, hash: string): Promise<boolean> {
    return this.#submit({ op: "verify", password, hash }) as Promise<boolean>;
  }

  #submit(job: Job): Promise<string | boolean> {
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(new HashQueueFull());
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.busy || this.#queue.length === 0) continue;
      const item = this.#queue.shift()!;
      slot.busy = true;
      if (slot.worker) {
        const id = ++this.#seq;
        this.#waiting.set(id, { job: item.job, resolve: item.resolve, reject: item.reject, slot });
        slot.worker.postMessage({ id, ...item.job });
        this.stats.onWorkers++;
        this.stats.maxParallel = Math.max(this.stats.maxParallel, this.#waiting.size);
      } else {
        this.stats.inline++;
        const p = item.job.op === "hash"
          ? hashPasswordInline(item.job.password, item.job.salt)
          : verifyPasswordInline(item.job.password, item.job.hash);
        p.then(item.resolve, item.reject).finally(() => {
          slot.busy = false;
          this.#pump();
        });
      }
    }
  }

  #done(r: { id: number; ok: boolean; value: string | boolean }): void {
    const w = this.#waiting.get(r.id);
    if (!w) return;
    this.#waiting.delete(r.id);
    w.slot.busy = false;
    if (++w.slot.jobs >= this.#recycleAfter && w.slot.worker) {
      // Drop the worker and its garbage WebAssembly instances; a fresh one takes the slot.
      this.#stop(w.slot);
      this.#spawn(w.slot);
    }
    if (r.ok) w.resolve(r.value);
    else w.reject(new Error(String(r.value)));
    this.#pump();
  }

  close(): void {
    for (const s of this.#slots) this.#stop(s);
    for (const w of this.#waiting.values()) w.reject(new Error("Password hasher closed"));
    for (const q of this.#queue) q.reject(new Error("Password hasher closed"));
    this.#waiting.clear();
    this.#queue.length = 0;
  }
}
