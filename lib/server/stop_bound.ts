/**
 * A stop within a bound (issue 74): launch.ts's `stop()` runs its steps (the metrics listener, the
 * node's `leave` of PostgreSQL, ParleyServer's `shutdown`, the data folder) one after another, each
 * raced against what is left of one deadline, so SIGTERM ends the process in time whatever the store
 * or the bus is doing. A step that has not ended at the deadline is left running and named in the
 * `shutdown.pending` log line (with what it was waiting for, when the step can say), and the caller
 * exits all the same. No I/O of its own: the timer and the log are given.
 */
import type { Logger } from "../common/logger.ts";

/** The default bound of a stop, in seconds (`--stop-timeout`, launch.ts). */
export const STOP_TIMEOUT_S = 20;

export interface StopStep {
  name: string;
  run: () => Promise<unknown>;
  /** At most this long for this step (still within the whole bound): a step others need not wait on. */
  capMs?: number;
  /** What the step waits for now, for the log line when it is cut short. */
  waiting?: () => string | null;
}

export interface StopOutcome {
  /** Every step ended (or failed) in time. */
  done: boolean;
  /** The steps cut short, with what each waited for. */
  pending: string[];
}

/** Runs `steps` in order within `boundMs` in all; what the deadline cut short is logged and returned. */
export async function stopWithin(
  steps: readonly StopStep[],
  boundMs: number,
  o: { log: Logger; now: () => number },
): Promise<StopOutcome> {
  const end = o.now() + boundMs;
  const pending: string[] = [];
  for (const step of steps) {
    const left = end - o.now();
    const within = Math.max(0, Math.min(left, step.capMs ?? left));
    let ended = false, timer: ReturnType<typeof setTimeout> | undefined;
    const run = Promise.resolve().then(step.run).then(
      () => void (ended = true),
      (e) => {
        ended = true;
        o.log.warn("shutdown.step", { step: step.name, error: String(e) });
      },
    );
    await Promise.race([run, new Promise<void>((r) => timer = setTimeout(r, within))]);
    clearTimeout(timer);
    if (!ended) {
      const on = step.waiting?.();
      pending.push(on ? `${step.name} (${on})` : step.name);
      o.log.warn("shutdown.slow", { step: step.name, waited_ms: within, ...(on ? { waiting: on } : {}) });
    }
  }
  if (pending.length) o.log.warn("shutdown.pending", { pending: pending.join(", "), bound_ms: boundMs });
  return { done: pending.length === 0, pending };
}
