/**
 * Drives full-screen clients in tmux for end-to-end tests: each test gets its own tmux server
 * (socket), starts real `client.ts` processes in detached sessions, types into them and reads their
 * screens back with `capture-pane`. Also runs scripted `client.ts` commands against the same server.
 */
import { colsFor } from "../lib/client/tui/testing.ts";
import {
  eventually,
  PROGRAM_PERMS,
  rootFile,
  runProgram,
  skipWithout,
  startTestServer,
  type TestServer,
} from "./helpers.ts";
import { until } from "../lib/common/wait_testing.ts";

export const hasTmux: boolean = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

/** On CI a missing tmux fails the test instead of skipping it (there is no tmux on Windows). */
export const skipWithoutTmux: boolean = Deno.build.os === "windows" || skipWithout(hasTmux);

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
export const PASSWORD = "pw-secret-123";

export class Tmux {
  readonly socket = `parley-test-${Deno.pid}-${Math.random().toString(36).slice(2, 8)}`;

  constructor(readonly port: number) {}

  async run(...args: string[]): Promise<string> {
    const r = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(r.stderr)}`);
    return new TextDecoder().decode(r.stdout);
  }

  /** Starts the full-screen client for `user` with folder `home` in a session named `name`. */
  async start(
    name: string,
    user: string,
    home: string,
    o: { cols?: number; rows?: number; title?: string; keepPane?: boolean; env?: string } = {},
  ): Promise<void> {
    let cmd =
      `cd ${ROOT} && RUST_BACKTRACE=0 NO_COLOR=1 ${
        o.env ?? `PARLEY_PASSWORD=${PASSWORD}`
      } ${Deno.execPath()} run ` +
      `${PROGRAM_PERMS.join(" ")} client.ts --user ${user} ` +
      `--server 127.0.0.1:${this.port} --home ${home} --trust-on-first-use 2>>${home}/stderr-${name}`;
    // A title set before the client (OSC 2), and a pane that outlives it (to read what it left).
    if (o.title) cmd = `printf '\\033]2;${o.title}\\007'; ${cmd}`;
    if (o.keepPane) cmd = `${cmd}; echo CLIENT-EXITED; sleep 600`;
    await this.run(
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      String(o.cols ?? 100),
      "-y",
      String(o.rows ?? 30),
      cmd,
    );
  }

  /**
   * Starts the full-screen client in peer mode (`parley peer --listen …`) in a session named `name`,
   * `cols` wide (110 unless said).
   */
  async startPeer(
    name: string,
    user: string,
    home: string,
    listen: string,
    env = "",
    cols = 110,
  ): Promise<void> {
    const cmd =
      `cd ${ROOT} && RUST_BACKTRACE=0 NO_COLOR=1 ${env} ${Deno.execPath()} run ${PROGRAM_PERMS.join(" ")} ` +
      `client.ts peer --listen ${listen} --user ${user} --home ${home} 2>>${home}.stderr-${name}`;
    await this.run("new-session", "-d", "-s", name, "-x", String(cols), "-y", "30", cmd);
  }

  /** The pane's title (what tmux's default status bar shows). */
  async title(name: string): Promise<string> {
    return (await this.run("display-message", "-p", "-t", name, "#{pane_title}")).trimEnd();
  }

  screen(name: string): Promise<string> {
    return this.run("capture-pane", "-p", "-t", name);
  }

  /** The whole scrollback-free screen, waited for until `pred` holds. */
  async waitFor(name: string, pred: (s: string) => boolean, what: string, ms = 20_000): Promise<string> {
    let last = "";
    await until(
      async () => pred(last = await this.screen(name).catch(() => last)),
      () => `${what} on ${name}'s screen; screen was:\n${last}`,
      ms,
      150,
    );
    return last;
  }

  /** Types a line: the text, then Enter in a separate call (one chunk would look like a paste). */
  async type(name: string, text: string): Promise<void> {
    await this.run("send-keys", "-t", name, "-l", text);
    await new Promise((r) => setTimeout(r, 80));
    await this.run("send-keys", "-t", name, "Enter");
  }

  /**
   * Pastes `file` (bracketed, as a terminal does) into `name`'s input and waits until the input row —
   * the screen's last (tui/layout.ts) — ends the text with `tail`, the file's last characters: the
   * whole paste was taken, so an Enter after it sends it all. No sleep: the row is looked at.
   */
  async paste(name: string, file: string, tail: string, ms = 60_000): Promise<void> {
    await this.run("load-buffer", file);
    await this.run("paste-buffer", "-p", "-t", name);
    await this.waitFor(
      name,
      (s) => inputRow(s).trimEnd().endsWith(tail),
      `the paste's end (${tail}) in the input`,
      ms,
    );
  }

  keys(name: string, ...keys: string[]): Promise<string> {
    return this.run("send-keys", "-t", name, ...keys);
  }

  /** Kills the client running in session `name` with SIGKILL (the session stays, the pane dies). */
  /** Resolves once session `name` is gone: its client exited (after `/quit`), its pane with it. */
  async gone(name: string, ms = 20_000): Promise<void> {
    await eventually(
      () => this.run("has-session", "-t", `=${name}`).then(() => false, () => true),
      ms,
      `${name} to exit`,
    );
  }

  async kill9(user: string, home: string): Promise<void> {
    await new Deno.Command("pkill", { args: ["-9", "-f", `client.ts --user ${user} .*--home ${home} `] })
      .output();
  }

  async stop(): Promise<void> {
    await this.run("kill-server").catch(() => "");
  }

  /** A scripted `client.ts` command as `user` with folder `home`. */
  cli(user: string, home: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
    return runProgram("client.ts", [
      ...args,
      "--user",
      user,
      "--server",
      `127.0.0.1:${this.port}`,
      "--home",
      home,
      "--trust-on-first-use",
    ], { PARLEY_PASSWORD: PASSWORD });
  }
}

/**
 * alice and bob registered on a fresh server and on screen, alice's first line in the DM on both
 * (a query each); `fn` runs (given the in-process server too), then everything stops. */
export async function dmOnScreens(
  first: string,
  fn: (tm: Tmux, t: TestServer) => Promise<void>,
): Promise<void> {
  const t = await startTestServer();
  const tm = new Tmux(t.port);
  const homes: string[] = [];
  try {
    for (const u of ["alice", "bob"]) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
    for (const u of ["alice", "bob"]) {
      const home = await Deno.makeTempDir();
      homes.push(home);
      await tm.start(u, u, home, { cols: colsFor(home, 100) });
    }
    for (const u of ["alice", "bob"]) {
      await tm.waitFor(u, (s) => s.includes(`Welcome to Parley, ${u}`), "welcome");
    }
    await tm.type("alice", `/query bob ${first}`);
    await tm.waitFor("bob", (s) => /\d\.alice/.test(s), "alice's query on bob");
    await tm.type("bob", "/query alice");
    await tm.waitFor("bob", (s) => s.includes(first), "bob in alice's query");
    await fn(tm, t);
    for (const u of ["alice", "bob"]) await tm.type(u, "/quit");
  } finally {
    await tm.stop();
    await t.stop();
    for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
  }
}

export { rootFile };

/** The input row of a full-screen client's screen: its last row (tui/layout.ts). */
export function inputRow(screen: string): string {
  return screen.replace(/\n+$/, "").split("\n").at(-1) ?? "";
}

/** A screen without its input row: what the conversation and the bars show. */
export function aboveInput(screen: string): string {
  return screen.replace(/\n+$/, "").split("\n").slice(0, -1).join("\n");
}
