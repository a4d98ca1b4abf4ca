/**
 * Levelled logger with injected sinks (the server passes stderr and a file; tests pass an array).
 * Lines are `ISO-time LEVEL event key=value …`. Callers never pass message bodies or passwords;
 * values are single-line and control characters are escaped so a log line cannot be forged.
 * `guardedSink` is the one rule of a sink that fails (issue 68 item 3: a full disk under parley.log or
 * stderr): it never throws into the server, counts the lines it could not write, and once writing
 * works again first writes one line saying how many were dropped and since when.
 */
import type { Clock } from "./clock.ts";
import { sanitize } from "./sanitize.ts";

export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogSink = (line: string) => void;

export class Logger {
  constructor(
    readonly sinks: LogSink[],
    readonly clock: Clock,
    readonly level: Level = "info",
  ) {}

  log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
    if (RANK[level] < RANK[this.level]) return;
    let line = `${new Date(this.clock.now()).toISOString()} ${level.toUpperCase()} ${event}`;
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      const s = sanitize(String(v)); // one line, no control/bidi characters (lib/common/sanitize.ts)
      line += ` ${k}=${/[\s"]/.test(s) || s === "" ? JSON.stringify(s) : s}`;
    }
    for (const sink of this.sinks) sink(line);
  }
  debug(e: string, f?: Record<string, unknown>): void {
    this.log("debug", e, f);
  }
  info(e: string, f?: Record<string, unknown>): void {
    this.log("info", e, f);
  }
  warn(e: string, f?: Record<string, unknown>): void {
    this.log("warn", e, f);
  }
  error(e: string, f?: Record<string, unknown>): void {
    this.log("error", e, f);
  }
}

/** A sink that never throws, and how many lines it is dropping now (0 when its writes go through). */
export type GuardedSink = LogSink & { dropping(): number };

/**
 * `write` (which may throw: ENOSPC, EIO, a closed descriptor) as a sink that never throws. A line
 * whose write fails is dropped and counted; the first line written after that is preceded by
 * `… WARN log.dropped lines=N since=ISO error=… note="dropped N line(s) …"`. Also a failed write
 * of that note is a dropped line (the count goes on).
 */
export function guardedSink(write: LogSink, clock: Clock): GuardedSink {
  let dropped = 0, since = 0, why = "";
  const sink = (line: string) => {
    try {
      if (dropped > 0) {
        const at = new Date(since).toISOString();
        write(
          `${new Date(clock.now()).toISOString()} WARN log.dropped lines=${dropped} since=${at} ` +
            `error=${JSON.stringify(why)} note="dropped ${dropped} line(s) that could not be written"`,
        );
        dropped = 0;
      }
      write(line);
    } catch (e) {
      if (dropped === 0) [since, why] = [clock.now(), sanitize(e instanceof Error ? e.message : String(e))];
      dropped++;
    }
  };
  return Object.assign(sink, { dropping: () => dropped });
}

/**
 * A guarded sink writing each line and a newline through `writeSync` (server.ts: its standard error,
 * whose write may take part of it, or throw when it is a file on a full disk).
 */
export function writerSink(writeSync: (b: Uint8Array) => number, clock: Clock): GuardedSink {
  const enc = new TextEncoder();
  return guardedSink((line) => {
    const b = enc.encode(line + "\n");
    for (let done = 0; done < b.length;) done += writeSync(b.subarray(done));
  }, clock);
}

/** A logger that keeps lines in memory; for tests. */
export function memoryLogger(clock: Clock, level: Level = "debug"): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger([(l) => lines.push(l)], clock, level), lines };
}
