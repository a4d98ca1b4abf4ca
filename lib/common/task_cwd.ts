/**
 * Where the relative paths a user types are taken from (issue 38 item 4). `deno task` runs a task
 * in deno.json's folder and names the folder it was called from in INIT_CWD, so `deno task client
 * send-file bob ./x` from elsewhere would look for ./x in the repository. The entries (client.ts,
 * server.ts) ask this with their environment and change to the caller's folder. Pure.
 */

/**
 * The folder to change to, or null to stay: only when INIT_CWD is set, differs from the current
 * folder, and the program was started in its own folder (as deno task does) and that folder holds
 * deno.json (`hasConfig`: deno task runs only there); an INIT_CWD inherited by a program started
 * elsewhere (an installed `parley`, a test's child, a bundle run in its own folder) is not followed.
 */
export function callerFolder(
  initCwd: string | undefined,
  cwd: string,
  programDir: string,
  hasConfig = true,
): string | null {
  if (!initCwd || !hasConfig) return null;
  const norm = (p: string) => p.replace(/[\\/]+$/, "") || p;
  if (norm(initCwd) === norm(cwd) || norm(cwd) !== norm(programDir)) return null;
  return initCwd;
}

/** What an entry reads to decide (`followCaller`); each may throw (a permission not granted). */
export interface CallerProbe {
  /** INIT_CWD from the environment. */
  initCwd(): string | undefined;
  cwd(): string;
  /** The program's folder, with or without a trailing slash. */
  programDir: string;
  /** Whether the program's folder holds deno.json (a clone run by deno task, not a bundle's folder). */
  hasConfig(): boolean;
}

/**
 * `callerFolder` for an entry, asked lazily: a probe that throws (no --allow-env or --allow-read, as
 * when `server.ts --version` runs without permissions) means "stay", so what needs no permission
 * (--version, --help) still answers.
 */
export function followCaller(p: CallerProbe): string | null {
  try {
    const init = p.initCwd();
    if (!init) return null;
    return callerFolder(init, p.cwd(), p.programDir, p.hasConfig());
  } catch {
    return null;
  }
}
