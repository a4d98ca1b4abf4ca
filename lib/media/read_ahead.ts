/**
 * readAhead — pulls an async source of byte frames (ffmpeg's) ahead of its consumer into a bounded
 * queue, so the source runs in long bursts and then sleeps, instead of waking for every frame the
 * consumer's pacing releases. Pure (no I/O of its own): it only drives the iterator it is given.
 *
 * The queue fills up to `maxBytes` or `maxFrames` (whichever is reached first; at least one frame
 * is always taken) and, once full, is refilled only after the consumer took it down to half of both
 * marks. Frames come out in order; the source's end or error is passed on after the frames before
 * it. A consumer that stops early (`break`/`return`) ends the pumping: nothing more is pulled.
 * The frames must be fresh arrays (not views of a reused buffer), as MjpegSource's are.
 */

export interface ReadAheadOptions {
  /** Most bytes held (default 4 MiB). */
  maxBytes?: number;
  /** Most frames held (default 48: two seconds at 24 fps). */
  maxFrames?: number;
}

export const READ_AHEAD_BYTES = 4 * 1024 * 1024;
export const READ_AHEAD_FRAMES = 48;

export function readAhead(
  source: AsyncIterable<Uint8Array>,
  o: ReadAheadOptions = {},
): AsyncIterable<Uint8Array> {
  const maxBytes = o.maxBytes ?? READ_AHEAD_BYTES;
  const maxFrames = o.maxFrames ?? READ_AHEAD_FRAMES;
  if (!(maxBytes >= 1) || !Number.isInteger(maxFrames) || maxFrames < 1) {
    throw new RangeError("readAhead needs maxBytes ≥ 1 and a whole maxFrames ≥ 1");
  }
  return {
    [Symbol.asyncIterator]: () => pump(source[Symbol.asyncIterator](), maxBytes, maxFrames),
  };
}

async function* pump(
  it: AsyncIterator<Uint8Array>,
  maxBytes: number,
  maxFrames: number,
): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let bytes = 0;
  let end: { error: unknown } | null = null; // set once the source ended (error null: cleanly)
  let stopped = false;
  // Resolvers of the one wait each side may have under way (a holder object: TypeScript does not
  // see closures assign plain variables).
  const wake: { consumer: (() => void) | null; pump: (() => void) | null } = { consumer: null, pump: null };
  const full = () => bytes >= maxBytes || queue.length >= maxFrames;
  const lowEnough = () => bytes <= maxBytes / 2 && queue.length <= maxFrames / 2;

  const filling = (async () => {
    try {
      while (!stopped) {
        if (full()) {
          await new Promise<void>((r) => (wake.pump = r));
          continue;
        }
        const r = await it.next();
        if (r.done) break;
        queue.push(r.value);
        bytes += r.value.length;
        wake.consumer?.();
      }
      end = { error: null };
    } catch (e) {
      end = { error: e ?? new Error("the frame source failed") };
    }
    wake.consumer?.();
  })();

  try {
    for (;;) {
      const f = queue.shift();
      if (f) {
        bytes -= f.length;
        if (wake.pump && lowEnough()) {
          const w = wake.pump;
          wake.pump = null;
          w();
        }
        yield f;
        continue;
      }
      if (end) {
        const e = (end as { error: unknown }).error;
        if (e !== null) throw e;
        return;
      }
      await new Promise<void>((r) => (wake.consumer = r));
      wake.consumer = null;
    }
  } finally {
    stopped = true;
    const w = wake.pump;
    wake.pump = null;
    w?.();
    // A pull under way ends when the source is stopped (its owner kills ffmpeg); do not wait here.
    void filling.then(() => it.return?.()).catch(() => {});
  }
}
