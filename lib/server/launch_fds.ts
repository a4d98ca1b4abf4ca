/**
 * The serving process's descriptors (lib/server/launch.ts): `--max-conns` fitted to the open-files
 * limit (fd_budget.ts), and `--metrics`' listener with its gauges of open files. The limit and the
 * count of open files are read by server.ts (processes: prlimit, /proc) and passed in as `FdProbe`.
 */
import type { Logger, LogSink } from "../common/logger.ts";
import { METRICS_MAX_CONNS, serveMetricsHttp } from "../net/http_metrics.ts";
import { DEFAULTS } from "./config.ts";
import { BASELINE_GUESS, fitFdBudget } from "./fd_budget.ts";
import type { Metrics } from "./metrics.ts";
import type { ParleyServer } from "./server.ts";
import type { Store } from "./store/store.ts";
import type { Bus } from "./bus/bus.ts";

/** The open-files limit and count of this process, read outside lib/ (server.ts). */
export interface FdProbe {
  /** The limit (soft, hard); null if unknown. */
  limit(): Promise<{ soft: number; hard: number } | null>;
  /** Descriptors open now; null when they cannot be counted. */
  open(): Promise<number | null>;
  /** Asks for a soft limit of `soft` (the hard one kept); a failure is ignored, `limit()` says what came of it. */
  raise(soft: number, hard: number): Promise<void>;
}

/** `--metrics`: gauges read from the server and this process, health from the store and bus; HTTP on. */
export async function startMetrics(
  metrics: Metrics,
  at: { host: string; port: number },
  srv: ParleyServer,
  store: Store,
  bus: Bus | null,
  log: Logger,
  io: { fds: FdProbe; stdout: LogSink },
) {
  const limit = (await io.fds.limit())?.soft ?? null;
  let fds: number | null = await io.fds.open();
  metrics.probe = () => ({ ...srv.snapshot(), fdsOpen: fds, fdsLimit: limit });
  // Counted by a process, so not on the scrape's path: refreshed every 10 s.
  const timer = setInterval(() => void io.fds.open().then((n) => fds = n), 10_000);
  metrics.checks = {
    store: async () => void await store.lastSeq(),
    ...(bus?.ping ? { bus: () => bus.ping!() } : {}),
  };
  const http = serveMetricsHttp({
    ...at,
    maxConns: METRICS_MAX_CONNS,
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
    health: async () => {
      const h = await metrics.health();
      const text = `${h.ok ? "ok" : "unhealthy"} store=${h.store}${h.bus ? ` bus=${h.bus}` : ""}`;
      return { ok: h.ok, text };
    },
    onError: (e) => log.warn("metrics.error", { error: String(e) }),
  });
  log.info("metrics.listen", { host: at.host, port: http.port });
  const close = () => (clearInterval(timer), http.close());
  io.stdout(`Metrics on http://${at.host.includes(":") ? `[${at.host}]` : at.host}:${http.port}/metrics`);
  return { close };
}

/**
 * `--max-conns` must fit the open-files limit with everything else the server holds (fd_budget.ts),
 * or accept() fails with EMFILE under load. Raises the soft limit towards the hard one when it is
 * short; if it is still short, serves fewer connections (and video streams) and says so in one sentence.
 */
export async function fitConnsToFdLimit(
  want: number,
  ffmpeg: string | null,
  log: Logger,
  more: { metricsFds: number },
  io: { fds: FdProbe; stderr: LogSink },
): Promise<{ maxConns: number; refuseMargin?: number; maxVideoStreams?: number }> {
  const baseline = (await io.fds.open()) ?? BASELINE_GUESS;
  const wants = {
    ...more,
    maxConns: want,
    refuseMargin: DEFAULTS.refuseMargin,
    maxVideoStreams: ffmpeg ? DEFAULTS.maxVideoStreams : 0,
  };
  let lim = await io.fds.limit();
  if (!lim) return { maxConns: want };
  let fit = fitFdBudget(lim.soft, baseline, wants);
  if (fit.lowered && lim.hard > lim.soft) {
    await io.fds.raise(Math.min(lim.hard, fit.need), lim.hard);
    lim = await io.fds.limit() ?? lim;
    fit = fitFdBudget(lim.soft, baseline, wants);
    if (!fit.lowered) log.info("limits.fds", { raised: lim.soft });
  }
  if (!fit.lowered) return { maxConns: want };
  io.stderr(
    `parley-server: --max-conns ${want} needs ${fit.need} open files but the limit is ${lim.soft}; ` +
      `serving at most ${fit.maxConns} connections (raise it with ulimit -n)`,
  );
  log.warn("limits.fds", {
    maxConns: fit.maxConns,
    refuseMargin: fit.refuseMargin,
    maxVideoStreams: ffmpeg ? fit.maxVideoStreams : undefined,
    limit: lim.soft,
    open: baseline,
  });
  return {
    maxConns: fit.maxConns,
    refuseMargin: fit.refuseMargin,
    ...(ffmpeg ? { maxVideoStreams: fit.maxVideoStreams } : {}),
  };
}
