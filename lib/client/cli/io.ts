/**
 * What the scripted commands share (a leaf of cli/): the I/O the entry hands in (`CliIo`), the
 * wrapper that connects and logs in around a subcommand (`WithClient`, built on `scriptedSession`,
 * the one place a scripted command logs in, reports notices and closes), and the one-line forms of
 * a target and a message that every command prints.
 */
import type { Command } from "commander";
import { BackendError, type ChatMessage, type Target } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type {
  ClientEnv,
  connectAndLogin,
  ConnectFlags,
  LoginChoices,
  Prompts,
} from "../start/session_setup.ts";
import type { SqliteCryptoStore } from "../session/crypto_store.ts";
import type { PeerNode } from "../peer/node.ts";
import type { ClientFiles } from "../session/home_dir.ts";
import { sanitizeLines } from "../../common/sanitize.ts";
import { isoSeconds } from "../../common/parse_time.ts";

/** Wraps a subcommand body: connect and log in with the command's flags, run, always close. */
export type WithClient = (
  fn: (c: ChatClient, o: Record<string, unknown>, args: string[]) => Promise<void> | void,
  register?: boolean,
  /** Runs on the folder's keystore before its keys are published (device add, keys reset). */
  prepare?: (
    cs: SqliteCryptoStore,
    c: ChatClient,
    o: Record<string, unknown>,
    args: string[],
  ) => Promise<void>,
) => (...a: unknown[]) => Promise<void>;

/** A failure whose sentence is on standard error already (a kick's reason, said as the server's notice): the command ends with it, not saying it twice. */
export class SaidError extends BackendError {}

export interface CliIo {
  env: ClientEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  prompts: Prompts;
  /** Runs the full-screen client (no subcommand). */
  tui?: (flags: ConnectFlags) => Promise<number>;
  version: string;
  /** The clock (tests inject one); default the system's. */
  now?: () => number;
  /** Set when standard error is a terminal: its width (the link code's QR is drawn there if it fits). */
  errTerminal?: { columns: number };
  /**
   * With errTerminal: redraws one status line of standard error in place (progress); `end` keeps it
   * and moves on to a new line. Absent: status lines go to `err`, one a line.
   */
  errStatus?: (line: string, end: boolean) => void;
  /** `parley irc`: resolves when the program is asked to stop (SIGINT, SIGTERM); absent: it runs until killed. */
  stopped?: () => Promise<void>;
  /** `parley peer --script SRC`: the lines of the file SRC, or of standard input for "-". */
  scriptLines?: (src: string) => AsyncIterable<string>;
  /** `parley peer` without --script: the full-screen client on the node; resolves with the exit code. */
  /** `outbox`: the folder `/ls` lists; `files`: the settings file and logs (start/target.ts `screenFiles`) */
  peerTui?: (node: PeerNode, dirs: { outbox: string; files: ClientFiles }) => Promise<number>;
  /** How a scripted command logs in; default start/session_setup.ts `connectAndLogin` (tests hand in a client in memory). */
  connect?: typeof connectAndLogin;
}

/** A subcommand's options with the program's global ones (the connection flags). */
export function commandFlags(cmd: Command): ConnectFlags & Record<string, unknown> {
  return cmd.optsWithGlobals() as ConnectFlags & Record<string, unknown>;
}

export function formatTarget(t: Target): string {
  return t.kind === "broadcast" ? "*" : t.kind === "room" ? `#${t.name}` : String(t.name);
}

/** One line per message: time, sender, target, text (control characters shown escaped). */
export function formatMessage(m: ChatMessage): string {
  if (m.deleted) return `${isoSeconds(m.ts)} ${m.from} -> ${formatTarget(m.to)}: (message deleted)`;
  const edited = m.edited !== undefined ? " (edited)" : "";
  return `${isoSeconds(m.ts)} ${m.from} -> ${formatTarget(m.to)}: ${sanitizeLines(m.text)}${edited}`;
}

/**
 * Connects and logs in as a scripted command does (quiet: no online/offline lines for others),
 * prints the server's notices and the session's warnings on standard error as `parley: …`, runs
 * `fn` and always closes. Every scripted subcommand's wrapper is this one (rule 7).
 */
export async function scriptedSession(
  io: Pick<CliIo, "env" | "prompts" | "err" | "connect">,
  flags: ConnectFlags,
  choices: LoginChoices,
  fn: (c: ChatClient) => Promise<void> | void,
): Promise<void> {
  // The session's modules load here, when a command logs in: not for --help, --version or a usage error.
  const connect = io.connect ?? (await import("../start/session_setup.ts")).connectAndLogin;
  const c = await connect(flags, io.env, io.prompts, {
    quiet: true, // one-shot: no online/offline lines in everyone's conversations (issue 34.14)
    notice: (t) => io.err(`parley: ${t}`), // e.g. the server's version differs (issue 38.5)
    ...choices,
  });
  const off = c.on((e) => {
    if (e.type === "notice" && e.level !== "info") io.err(`parley: ${e.text}`);
  });
  try {
    await fn(c);
  } finally {
    off();
    await c.close();
  }
}
