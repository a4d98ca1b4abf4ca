/**
 * The open-files budget (pure): which caps fit a descriptor limit. Every descriptor the server may
 * hold counts — what the process already has open at start (store, log, certificate, runtime),
 * relayed files kept open, each ffmpeg's pipes, the connections refused with a frame beyond the
 * cap, a little slack for short-lived ones (probes, accepts closed at once), the `--metrics`
 * listener and its connections (net/http_metrics.ts's cap) — and connections get what is left. server.ts reads the limit and the descriptors open (prlimit, /proc); launch_fds.ts applies it.
 */

/** Pipes a running ffmpeg holds in the server (stdout, stderr). */
export const FDS_PER_FFMPEG = 2;
/** Relayed files kept open at most (file_store.ts's MAX_OPEN). */
export const FILE_HANDLES = 32;
/** Short-lived descriptors: an accept closed at once, a probe, a worker's, a rendition being written. */
export const FD_SLACK = 16;
/** Open at start when they cannot be counted (measured: ~41 with SQLite, the log and the certificate). */
export const BASELINE_GUESS = 48;

export interface FdWants {
  maxConns: number;
  refuseMargin: number;
  /** ffmpeg streams at once; 0 when there is no ffmpeg (no pipes). */
  maxVideoStreams: number;
  /** Descriptors of the `--metrics` listener: its socket and its connection cap; 0 without it. */
  metricsFds?: number;
}

export interface FdFit extends FdWants {
  /** Descriptors the wanted caps need in all. */
  need: number;
  /** True when the caps had to be lowered. */
  lowered: boolean;
}

/** Caps fitting `limit` descriptors with `baseline` already open; `want` unchanged when they fit. */
export function fitFdBudget(limit: number, baseline: number, want: FdWants): FdFit {
  const fixed = baseline + FILE_HANDLES + FD_SLACK + (want.metricsFds ?? 0);
  const need = fixed + want.maxConns + want.refuseMargin + want.maxVideoStreams * FDS_PER_FFMPEG;
  if (limit >= need) return { ...want, need, lowered: false };
  // Short: a quarter of what is left at most for video, an eighth at most for refusals, the rest
  // for connections (at least one, so the server still says what is wrong to whoever connects).
  const avail = Math.max(0, limit - fixed);
  const maxVideoStreams = Math.min(want.maxVideoStreams, Math.floor(avail / 4 / FDS_PER_FFMPEG));
  const refuseMargin = Math.min(want.refuseMargin, Math.floor(avail / 8));
  const maxConns = Math.max(
    1,
    Math.min(want.maxConns, avail - refuseMargin - maxVideoStreams * FDS_PER_FFMPEG),
  );
  return { maxConns, refuseMargin, maxVideoStreams, need, lowered: true };
}
