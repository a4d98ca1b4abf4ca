/**
 * Levelled logger with injected sinks (the server passes stderr and a file; tests pass an array).
 * Lines are `ISO-time LEVEL event key=value …`. Callers never pass message bodies or passwords;
 * values are single-line and control characters are escaped so a log line cannot be forged.
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

/** A logger that keeps lines in memory; for tests. */
export function memoryLogger(clock: Clock, level: Level = "debug"): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger([(l) => lines.push(l)], clock, level), lines };
}
