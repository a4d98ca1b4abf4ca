/**
 * Parley server entry: reads the process — arguments, environment, signals, standard streams, the
 * open-files limit — and hands it to lib/server/launch.ts, which parses the flags, opens the data folder
 * and store, serves, and stops on a signal, the console's /shutdown or a broken store.
 * `server.ts admin grant|revoke|unlock NAME` edits accounts offline (lib/server/launch_offline.ts).
 */
import { fileURLToPath } from "node:url";
import { followCaller } from "./lib/common/task_cwd.ts";
import { systemClock } from "./lib/common/clock.ts";
import { writerSink } from "./lib/common/logger.ts";
import { launch } from "./lib/server/launch.ts";
import { VERSION } from "./lib/common/version.ts";

export { VERSION };

/**
 * The serving server's stdout and stderr (its log lines, the line scripts wait for, the console's
 * answers): sinks that never throw (a full disk under a redirected stream: logger.ts guardedSink).
 */
const stdoutSink = writerSink((b) => Deno.stdout.writeSync(b), systemClock);
const stderrSink = writerSink((b) => Deno.stderr.writeSync(b), systemClock);

if (import.meta.main) {
  // `deno task server …` from another folder: --data, --videos, … are the caller's (lib/common/task_cwd.ts).
  const here = followCaller({
    initCwd: () => Deno.env.get("INIT_CWD"),
    cwd: () => Deno.cwd(),
    programDir: fileURLToPath(new URL(".", import.meta.url)),
    hasConfig: () => Deno.statSync(new URL("./deno.json", import.meta.url)).isFile,
  });
  if (here) Deno.chdir(here);
  const code = await launch({
    args: Deno.args,
    env: Deno.env,
    clock: systemClock,
    stdout: stdoutSink,
    stderr: stderrSink,
    print: (line) => console.log(line),
    printErr: (line) => console.error(line),
    signals: (stop) => {
      Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
      // Windows has no SIGTERM; Ctrl-C (SIGINT) and the console's /shutdown still work there.
      if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
    },
    exit: (c) => Deno.exit(c),
    console: {
      isTerminal: Deno.stdin.isTerminal(),
      chunks: () => Deno.stdin.readable.pipeThrough(new TextDecoderStream()),
    },
    readText: (path) => Deno.readTextFile(path),
    exists: (path) => Deno.stat(path).then(() => true, () => false),
    isFolder: (path) => Deno.stat(path).then((st) => st.isDirectory, () => false),
    fds: { limit: fdLimit, open: openFds, raise: raiseFdLimit },
  });
  if (code >= 0) Deno.exit(code);
}

/** The open-files limit of this process (soft, hard) read with util-linux prlimit; null if unknown. */
async function fdLimit(): Promise<{ soft: number; hard: number } | null> {
  try {
    const o = await new Deno.Command("prlimit", {
      args: ["--pid", String(Deno.pid), "--nofile", "--output", "SOFT,HARD", "--noheadings"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const m = new TextDecoder().decode(o.stdout).trim().match(/^(\d+|unlimited)\s+(\d+|unlimited)$/);
    if (!o.success || !m) return null;
    const n = (x: string) => (x === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(x));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return null; // no prlimit here (not Linux, or a minimal system): nothing to check against
  }
}

/** Raises the soft open-files limit to `soft` with prlimit (a failure ignored: fdLimit says what came of it). */
async function raiseFdLimit(soft: number, hard: number): Promise<void> {
  await new Deno.Command("prlimit", {
    args: [
      "--pid",
      String(Deno.pid),
      `--nofile=${soft}:${hard === Number.MAX_SAFE_INTEGER ? "unlimited" : hard}`,
    ],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
}

/**
 * Descriptors this process has open now (/proc/PID/fd on Linux, listed by `ls`: Deno reads /proc only
 * with --allow-all); null when they cannot be counted. Includes the pipe of the `ls` itself.
 */
async function openFds(): Promise<number | null> {
  if (Deno.build.os !== "linux") return null;
  try {
    const o = await new Deno.Command("ls", {
      args: ["-1U", `/proc/${Deno.pid}/fd`],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    if (!o.success) return null;
    return new TextDecoder().decode(o.stdout).split("\n").filter((l) => /^\d+$/.test(l)).length;
  } catch {
    return null;
  }
}
