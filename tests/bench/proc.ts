/**
 * What the benches read about processes from outside (Linux /proc, through `cat`: Deno grants
 * /proc reads only with --allow-all): CPU time in the kernel's own clock ticks (CLK_TCK asked of
 * `getconf`, not assumed), resident memory; the statistics of repeated runs; and a reference
 * server run in its own process for the time of a measurement (`withRefServer`).
 */
import { makeSelfSignedCert } from "../../lib/net/cert.ts";

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
  return new TextDecoder().decode(r.stdout);
}

let ticks: Promise<number> | null = null;

/** Extra `deno run` flags from the environment variable `name` (space-separated; none when unset). */
export function envFlags(name: string): string[] {
  return (Deno.env.get(name) ?? "").split(" ").filter((f) => f);
}

/** Clock ticks per second of /proc/PID/stat's CPU fields (`getconf CLK_TCK`). */
export function clkTck(): Promise<number> {
  return ticks ??= run("getconf", ["CLK_TCK"]).then((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n <= 0) throw new Error(`getconf CLK_TCK gave "${s.trim()}"`);
    return n;
  });
}

/** CPU time (user + system) of process `pid` in microseconds; with `children`, its reaped children's too. */
export async function cpuMicros(pid: number, children = false): Promise<number> {
  const stat = await run("cat", [`/proc/${pid}/stat`]);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 (utime, stime); with `children`, 16 and 17 too (its reaped children's, e.g. ffmpeg).
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return (ticks * 1e6) / await clkTck();
}

/** Resident set size of `pid` in KiB. */
export async function rssKb(pid: number): Promise<number> {
  const s = await run("cat", [`/proc/${pid}/status`]);
  return Number(s.match(/VmRSS:\s+(\d+)/)![1]);
}

export interface Row {
  name: string;
  value: number;
  unit: string;
  target?: string;
  /** Set for repeated measurements: `value` is the median of `samples`. */
  samples?: number[];
  /** Set when the row failed its check (a "REGRESSION" line): `deno task bench` then exits 1. */
  regression?: string;
}

/** `p`, or a rejection naming the phase after `ms`: a lost delivery ends the bench, not hangs it. */
export async function phase<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`bench phase "${what}" took over ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs `fn` `times` times and merges its rows by name: each value becomes the median of the runs,
 * with every sample kept (main.ts prints the range).
 */
export async function repeated(times: number, fn: () => Promise<Row[]>): Promise<Row[]> {
  const runs: Row[][] = [];
  for (let i = 0; i < times; i++) runs.push(await fn());
  return mergeRuns(runs);
}

/** Rows of several runs merged by name (the first run's order): each value the median, samples kept. */
export function mergeRuns(runs: Row[][]): Row[] {
  return runs[0]!.map((r) => {
    const samples = runs.map((rows) => rows.find((x) => x.name === r.name)?.value ?? NaN);
    return { ...r, value: median(samples), samples };
  });
}

/** A reference server in its own process (`withRefServer`): its pid, port, certificate and folder. */
export interface RefServer {
  pid: number;
  port: number;
  cert: string;
  /** The temp folder it was given (its certificate's files; what it writes). */
  dir: string;
}

/**
 * Runs `script` (`deno run --allow-net --allow-read --allow-write=FOLDER SCRIPT CERT KEY ARGS…`, a
 * fresh self-signed certificate's files in a temp folder FOLDER, which it may write to) until `fn` is
 * done with it; the script prints its port first. Always stops it (SIGTERM) and removes the folder.
 */
export async function withRefServer<T>(
  what: string,
  script: string,
  args: string[],
  fn: (s: RefServer) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "parley-bench-" });
  const pair = await makeSelfSignedCert(["127.0.0.1"]);
  await Deno.writeTextFile(`${dir}/cert.pem`, pair.cert);
  await Deno.writeTextFile(`${dir}/key.pem`, pair.key);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      `--allow-write=${dir}`, // its own folder (a durable relay's log)
      script,
      `${dir}/cert.pem`,
      `${dir}/key.pem`,
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const port = Number((await phase(`${what} start`, 30_000, reader.read())).value);
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    return await fn({ pid: child.pid, port, cert: pair.cert, dir });
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}
