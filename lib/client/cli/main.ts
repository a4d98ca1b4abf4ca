/**
 * The scripted client (fixed contract): `register`, `login` (`--remember`), `logout`, `passwd`, `send`, `read`, `who`,
 * `status`, `export` (export.ts), `outbox` (`drop ID`),
 * `room …` (incl. `room kick`), `admin …`, and the key commands `fingerprint [USER]`, `verify USER`,
 * `trust USER`. Warnings and errors from the encryption layer (a message that could not be
 * decrypted, a member without keys) go to `err` as they happen. Connection flags are accepted before or after the subcommand's name.
 * Results go to `out`, errors to `err` as one sentence; the returned number is the exit code.
 * The commands live by family (account.ts, messages.ts, manage.ts, devices.ts, video.ts, files.ts,
 * …); `cliProgram` holds the global flags and registers the families in --help's order. A family
 * registers its descriptions at once and loads its work (the session, the encryption layer, the
 * player, peer mode, …) with a dynamic `import()` when its command runs, so `--help`, `--version`
 * and every other command do not pay for it (tests/cli_start_test.ts holds the start's graph).
 */
import { Command, CommanderError, Option } from "commander";
import { BackendError } from "../backend.ts";
import { type CliIo, commandFlags, SaidError, scriptedSession, type WithClient } from "./io.ts";
export type { CliIo, WithClient };
import type { ChatClient } from "../core/chat_client.ts";
import type { ConnectFlags } from "../start/session_setup.ts";
import { registerAccountCommands } from "./account.ts";
import { registerMessageCommands } from "./messages.ts";
import { registerExportCommand } from "./export.ts";
import { registerVideoCommands } from "./video.ts";
import { registerWatchTogetherCommand } from "./watch_together.ts";
import { registerManageCommands } from "./manage.ts";
import { registerDeviceCommands } from "./devices.ts";
import type { SqliteCryptoStore } from "../session/crypto_store.ts";
import { registerFileCommands } from "./files.ts";
import { registerPeerCommand } from "./peer.ts";
import { registerOutboxCommand } from "./outbox.ts";
import { registerChangeCommands } from "./changes.ts";
import { registerIrcCommand } from "./irc.ts";
import { sanitize } from "../../common/sanitize.ts";

export async function runCli(argv: string[], rawIo: CliIo): Promise<number> {
  // Every line leaves through the one escaping rule: server-supplied strings (names, offers, kick
  // reasons, notices) can never reach the caller's terminal as control sequences.
  const io: CliIo = {
    ...rawIo,
    out: (l) => rawIo.out(sanitize(l, true)),
    err: (l) => rawIo.err(sanitize(l, true)),
    ...(rawIo.errStatus ? { errStatus: (l, end) => rawIo.errStatus!(sanitize(l, true), end) } : {}),
  };
  let code = 0;
  const program = cliProgram(io, (n) => (code = n));
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof BackendError) {
      if (!(e instanceof SaidError)) io.err(`parley: ${e.message}`);
      return e.code === "usage" ? 2 : 1;
    }
    io.err(`parley: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

/**
 * The scripted client's commands: the one description (name, arguments, options, help, examples)
 * that `--help` prints and README's table of scripted commands is checked against
 * (tests/command_docs_test.ts). `setCode` receives the full-screen client's exit code.
 */
export function cliProgram(io: CliIo, setCode: (code: number) => void = () => {}): Command {
  const program = new Command("parley")
    .description("Parley: end-to-end encrypted terminal chat")
    .version(io.version, "-V, --version")
    .option("--server <host:port>", "server address (env PARLEY_SERVER, default 127.0.0.1:9797)")
    .option("--user <name>", "user name (env PARLEY_USER)")
    .option(
      "--home <dir>",
      "client folder: known servers, keys, history (env PARLEY_HOME, default ~/.parley)",
    )
    .option("--password-file <file>", "read the password from a file (or set PARLEY_PASSWORD)")
    .option("--trust-on-first-use", "trust the server's certificate on first contact without asking")
    .option("--fingerprint <SHA256:…>", "trust the server only if its certificate has this fingerprint")
    .option(
      "--outbox <dir>",
      "full-screen client: the folder /ls lists and /send-file ID sends from (default <home>/outbox)",
    )
    .exitOverride()
    // No colours: help goes through io (sanitised), and commander's colour check reads the
    // environment, which `parley --help` run without --allow-env may not.
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .showHelpAfterError(false);

  const withClient: WithClient = (fn, register = false, prepare) => async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    const o = commandFlags(cmd);
    await scriptedSession(io, o, {
      register,
      ...(register && typeof o.invite === "string" ? { invite: o.invite } : {}),
      ...(prepare
        ? { prepare: (cs: SqliteCryptoStore, cl: ChatClient) => prepare(cs, cl, o, cmd.args) }
        : {}),
    }, (c) => fn(c, o, cmd.args));
  };

  registerAccountCommands(program, io, withClient); // register, login, logout, passwd (account.ts)
  registerMessageCommands(program, io, withClient); // send, read, search, who, status (messages.ts)
  registerExportCommand(program, io, withClient); // export: history as plain text (export.ts)
  registerManageCommands(program, io, withClient); // room, fingerprint, verify, trust, admin
  registerDeviceCommands(program, io, withClient); // device link|add|list|remove, keys reset
  registerVideoCommands(program, io); // videos, play, stream, watch (lib/client/cli/video.ts)
  registerWatchTogetherCommand(program, io); // watch-together (lib/client/cli/watch_together.ts)
  registerFileCommands(program, io); // files, send-file, receive (lib/client/cli/files.ts)
  registerPeerCommand(program, io, setCode); // peer: no server (lib/client/cli/peer.ts)
  registerOutboxCommand(program, io, withClient); // outbox, outbox drop (lib/client/cli/outbox.ts)
  registerChangeCommands(program, io, withClient); // edit, delete, react, edits (lib/client/cli/changes.ts)
  registerIrcCommand(program, io, setCode); // irc: a local IRC server on the session (lib/client/cli/irc.ts)

  program.action(async () => {
    if (!io.tui) throw new BackendError("usage", "Give a command; see --help");
    setCode(await io.tui(program.opts() as ConnectFlags));
  });
  return program;
}

export { Option };
