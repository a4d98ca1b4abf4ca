/**
 * Process helpers of the files bench: a command under bash with its children's CPU seconds
 * (bash's `times`), a random file, and a sampler of a process's resident memory read from outside
 * (/proc, through proc.ts) while a copy runs.
 */
import { rssKb } from "./proc.ts";

export const MB = 1e6;
export const GIB = 1 << 30;

export interface Timed {
  /** The bash process; the command is its child (see `childPid`). */
  pid: number;
  done: Promise<{ code: number; out: string; err: string; cpu: number }>;
}

/** Starts a command under bash; `done` gives its exit, output and the children's CPU seconds. */
export function spawnTimed(cmd: string[], env: Record<string, string> = {}): Timed {
  const child = new Deno.Command("bash", {
    args: ["-c", '"$@"; rc=$?; times >&2; exit $rc', "bash", ...cmd],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...env },
  }).spawn();
  const done = child.output().then((o) => {
    const err = new TextDecoder().decode(o.stderr).trim().split("\n");
    const sec = (s: string) => {
      const m = s.match(/(\d+)m([\d.]+)s/);
      return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
    };
    const [u, s] = (err.at(-1) ?? "").split(" ");
    return {
      code: o.code,
      out: new TextDecoder().decode(o.stdout),
      err: err.slice(0, -2).join("\n"),
      cpu: sec(u ?? "") + sec(s ?? ""),
    };
  });
  return { pid: child.pid, done };
}

/** Runs a command under bash and returns its exit, output and children's CPU seconds. */
export function timed(cmd: string[], env: Record<string, string> = {}) {
  return spawnTimed(cmd, env).done;
}

/** The first child of `pid` (the command bash runs), or undefined while there is none. */
export async function childPid(pid: number): Promise<number | undefined> {
  const r = await new Deno.Command("cat", { args: [`/proc/${pid}/task/${pid}/children`], stdout: "piped" })
    .output();
  const first = new TextDecoder().decode(r.stdout).trim().split(" ")[0];
  return first ? Number(first) : undefined;
}

export async function makeFile(path: string, bytes: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const buf = new Uint8Array(1 << 20);
  for (let done = 0; done < bytes; done += buf.length) {
    for (let i = 0; i < buf.length; i += 65536) crypto.getRandomValues(buf.subarray(i, i + 65536));
    await f.write(buf.subarray(0, Math.min(buf.length, bytes - done)));
  }
  f.close();
}

/** Samples the peak RSS (KiB) of the process `pid()` names every 200 ms until `stop()`. */
export function rssPeak(pid: () => Promise<number | undefined>): { stop: () => Promise<number> } {
  let peak = 0;
  let on = true;
  const loop = (async () => {
    while (on) {
      const p = await pid().catch(() => undefined);
      if (p) peak = Math.max(peak, await rssKb(p).catch(() => 0));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return peak;
    },
  };
}
