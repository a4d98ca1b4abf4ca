/**
 * Where and as whom to connect, before any socket: the flags and environment a surface hands in
 * (`ConnectFlags`, `ClientEnv`), the answers it can prompt for (`Prompts`), the target resolved
 * from flags, then environment, then defaults (`resolveTarget`, every node of a `--server a,b`
 * list), and the password (file, PARLEY_PASSWORD or a prompt; twice when registering); where the
 * full-screen client keeps its settings and logs (`screenFiles`).
 */
import { splitHostPort } from "../../common/host_port.ts";
import { MIN_PASSWORD_CHARS } from "../../crypto/password.ts";
import { BackendError } from "../backend.ts";
import { type ClientFiles, clientFiles, readPasswordFile } from "../session/home_dir.ts";

export interface ConnectFlags {
  server?: string;
  user?: string;
  home?: string;
  passwordFile?: string;
  trustOnFirstUse?: boolean;
  fingerprint?: string;
}

export interface ClientEnv {
  get(name: string): string | undefined;
}

export interface Prompts {
  password?: (message: string) => Promise<string | null>;
  /** A yes/no question; Enter answers `initial` (no, unless said: a certificate is never trusted by Enter). */
  confirm?: (message: string, initial?: boolean) => Promise<boolean>;
  text?: (message: string) => Promise<string | null>;
}

export interface Resolved {
  host: string;
  port: number;
  server: string;
  user: string;
  home: string;
  /** Every node of `--server a:9797,b:9797`, tried in order; host, port and server name the first. */
  nodes?: { host: string; port: number }[];
}

/** HOST:PORT or [v6]:PORT (HOST alone means port 9797); `minPort` 0 lets a listener pick a free port. */
export function hostPort(server: string, minPort = 1): { host: string; port: number } {
  const m = splitHostPort(server);
  if (!m || !m.host) throw new BackendError("bad_server", `"${server}" is not HOST:PORT`);
  const port = m.port ?? 9797;
  if (port < minPort || port > 65535) throw new BackendError("bad_server", `Port ${port} is out of range`);
  return { host: m.host, port };
}

export function resolveTarget(f: ConnectFlags, env: ClientEnv): Omit<Resolved, "user"> & { user?: string } {
  const list = (f.server ?? env.get("PARLEY_SERVER") ?? "127.0.0.1:9797").split(",").map((s) => s.trim());
  const nodes = list.map((s) => hostPort(s));
  const { host, port } = nodes[0]!;
  const home = f.home ?? env.get("PARLEY_HOME") ??
    `${env.get("HOME") ?? env.get("USERPROFILE") ?? "."}/.parley`;
  const user = f.user ?? env.get("PARLEY_USER");
  return {
    host,
    port,
    server: `${host}:${port}`,
    home,
    ...(user ? { user } : {}),
    ...(nodes.length > 1 ? { nodes } : {}),
  };
}

/**
 * The password: from `--password-file`, `PARLEY_PASSWORD`, or a prompt. Registering at a prompt
 * asks twice and checks the minimum length first, before the server (and its certificate question)
 * is reached: `weak_password` or `password_mismatch` otherwise.
 */
export async function readPassword(
  f: ConnectFlags,
  env: ClientEnv,
  prompts: Prompts,
  user: string,
  register = false,
): Promise<string> {
  if (f.passwordFile) {
    try {
      return await readPasswordFile(f.passwordFile);
    } catch (e) {
      throw new BackendError(
        "bad_password_file",
        `Cannot read the password file ${f.passwordFile}: ${e instanceof Error ? e.message : e}`,
      );
    }
  }
  const fromEnv = env.get("PARLEY_PASSWORD");
  if (fromEnv !== undefined) return fromEnv;
  if (prompts.password && register) {
    const p = askedPassword(
      await prompts.password(`Choose a password for ${user} (at least ${MIN_PASSWORD_CHARS} characters)`),
    );
    if ([...p].length < MIN_PASSWORD_CHARS) {
      throw new BackendError("weak_password", `Passwords need at least ${MIN_PASSWORD_CHARS} characters`);
    }
    const again = askedPassword(await prompts.password(`Repeat the password for ${user}`));
    if (again !== p) throw new BackendError("password_mismatch", "The two passwords differ");
    return p;
  } else if (prompts.password) {
    return askedPassword(await prompts.password(`Password for ${user}`));
  }
  throw new BackendError(
    "no_password",
    "No password: set PARLEY_PASSWORD, pass --password-file, or run on a terminal",
  );
}

/**
 * A password prompt's answer; null is the person's Ctrl-C (or Esc) at it, said as such (issue 71.3),
 * never as "no password … run on a terminal" on the terminal they ran it on.
 */
export function askedPassword(p: string | null): string {
  if (p === null) throw new BackendError("cancelled", "Cancelled at the password prompt");
  return p;
}

/**
 * The settings file (`$XDG_CONFIG_HOME/parley/config` when that is set, else `config` in the client
 * folder) and the conversation logs (`logs/USER/` in the client folder), issue 71.11 and 71.13.
 */
export function screenFiles(home: string, env: ClientEnv, user: string): ClientFiles {
  const xdg = env.get("XDG_CONFIG_HOME");
  return clientFiles(xdg ? `${xdg}/parley` : home, `${home}/logs/${user}`);
}
