/**
 * The scripted client (fixed contract): `register`, `login` (`--remember`), `logout`, `passwd`, `send`, `read`, `who`,
 * `status`, `outbox` (`drop ID`),
 * `room …` (incl. `room kick`), `admin …`, and the key commands `fingerprint [USER]`, `verify USER`,
 * `trust USER`. Warnings and errors from the encryption layer (a message that could not be
 * decrypted, a member without keys) go to `err` as they happen. Connection flags are accepted before or after the subcommand's name.
 * Results go to `out`, errors to `err` as one sentence; the returned number is the exit code.
 */
import { Command, CommanderError, Option } from "commander";
import { BackendError, type ChatMessage, type Target } from "../backend.ts";
import { type CliIo, formatMessage, formatTarget, scriptedSession, type WithClient } from "./io.ts";
export type { CliIo, WithClient };
import type { ChatClient } from "../core/chat_client.ts";
import { type ConnectFlags, logoutRemembered } from "../start/session_setup.ts";
import { registerVideoCommands } from "./video.ts";
import { registerWatchTogetherCommand } from "./watch_together.ts";
import { registerManageCommands } from "./manage.ts";
import { registerDeviceCommands } from "./devices.ts";
import { passwdCommand } from "../start/account_passwd.ts";
import type { SqliteCryptoStore } from "../session/crypto_store.ts";
import { registerFileCommands } from "./files.ts";
import { registerPeerCommand } from "./peer.ts";
import { registerOutboxCommand } from "./outbox.ts";
import { registerChangeCommands } from "./changes.ts";
import { safeJson, sanitize } from "../../common/sanitize.ts";
import { normalizeName, withoutHash } from "../../protocol/names.ts";
import { isoSeconds, parseSince } from "../../common/parse_time.ts";
import { systemClock } from "../../common/clock.ts";

/** `--since`: the grammar of the TUI's /history (lib/common/parse_time.ts). */
function sinceFlag(s: string | undefined, now: number): number | undefined {
  if (s === undefined) return undefined;
  try {
    return parseSince(s, now);
  } catch (e) {
    throw new BackendError("bad_time", (e as Error).message);
  }
}

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
      io.err(`parley: ${e.message}`);
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
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError(false);

  const flags = (cmd: Command) => cmd.optsWithGlobals() as ConnectFlags & Record<string, unknown>;
  const withClient: WithClient = (fn, register = false, prepare) => async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    const o = flags(cmd);
    await scriptedSession(io, o, {
      register,
      ...(register && typeof o.invite === "string" ? { invite: o.invite } : {}),
      ...(prepare
        ? { prepare: (cs: SqliteCryptoStore, cl: ChatClient) => prepare(cs, cl, o, cmd.args) }
        : {}),
    }, (c) => fn(c, o, cmd.args));
  };

  program.command("register").description("create an account")
    .option("--invite <code>", "an admin's one-time invitation code (servers that register by invitation)")
    .addHelpText(
      "after",
      "\nExamples:\n  PARLEY_PASSWORD=… parley register --user alice --trust-on-first-use\n  parley register --server chat.example.org:9797 --user alice --fingerprint SHA256:AB:CD:…\n  parley register --user carol --invite 7k2qd-…",
    )
    .action(withClient((c) => io.out(`Registered ${c.user} on ${c.server}`), true));
  program.command("login").description("check credentials (exit 0 when they work)")
    .option(
      "--remember",
      "keep a resume token in the client folder: commands that need no keys (videos, play) then log in without the password",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  PARLEY_PASSWORD=… parley login --user alice\n  parley login --user alice --password-file ~/.parley-pw && echo ok\n  parley login --user alice --remember",
    )
    .action(async (...a: unknown[]) => {
      const said = (c: ChatClient) =>
        io.out(`Logged in as ${c.user}${c.role === "admin" ? " (admin)" : ""} on ${c.server}`);
      const o = flags(a[a.length - 1] as Command);
      if (!o.remember) return await withClient(said)(...a);
      // Remembering is about the server, not the keys: no keystore is opened or made in this folder.
      await scriptedSession(io, o, { keepHistory: false, remember: true }, (c) => {
        said(c);
        io.err("parley: this login is remembered on this machine; parley logout forgets it");
      });
    });
  program.command("logout").description("revoke and forget the login remembered on this machine")
    .option("--all", "revoke every remembered login of the account, on every machine")
    .addHelpText("after", "\nExamples:\n  parley logout --user alice\n  parley logout --user alice --all")
    .action(async (...a: unknown[]) => {
      const o = flags(a[a.length - 1] as Command);
      io.out(await logoutRemembered(o, io.env, io.prompts, o.all === true, (t) => io.err(`parley: ${t}`)));
    });

  program.command("passwd").description(
    "change the account's password: every other login ends, every remembered login is revoked",
  )
    .addHelpText(
      "after",
      "\nThe new password comes from PARLEY_NEW_PASSWORD or a prompt. Run it again in each of your\n" +
        "other folders (old and new password) to seal their keys under the new one.\n" +
        "\nExamples:\n  parley passwd --user alice\n  PARLEY_PASSWORD=… PARLEY_NEW_PASSWORD=… parley passwd --user alice",
    )
    .action(async (...a: unknown[]) => {
      io.out(await passwdCommand(flags(a[a.length - 1] as Command), io.env, io.prompts));
    });

  program.command("send").description("send a message to a user, a #room, or everyone (--broadcast)")
    .argument("[target-and-text...]", "TARGET TEXT…, or TEXT… with --broadcast")
    .option("--broadcast", "send to everyone")
    .option("--raw", "send the text exactly as typed (no emoji conversion)")
    .option("--reply-to <id>", "answer the message with this id (read --json shows ids)")
    .option("--json", "print the sent message's id, seq and time as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  parley send bob 'hello there'\n  parley send '#dev' build is green\n  parley send --broadcast server restarts at noon\n  parley send bob 'ship it :rocket: :-)'\n  parley send --reply-to 3kq0aZ8mXb1c bob 'yes, at noon'",
    )
    .action(withClient(async (c, o, args) => {
      let target: Target, words: string[];
      if (o.broadcast) [target, words] = [{ kind: "broadcast" }, args];
      else {
        const [t, ...rest] = args;
        if (!t) {
          throw new BackendError(
            "usage",
            "Say who to send to: send USER TEXT, send '#ROOM' TEXT or send --broadcast TEXT",
          );
        }
        target = t.startsWith("#") ? { kind: "room", name: withoutHash(t) } : { kind: "user", name: t };
        words = rest;
      }
      const typed = words.join(" ");
      if (!typed) throw new BackendError("usage", "There is no text to send");
      // The same rule as the full-screen client; the emoji tables load only when a message is sent.
      const text = o.raw ? typed : (await import("../core/emoji.ts")).convertEmoji(typed);

      const re = o.replyTo === undefined ? undefined : String(o.replyTo);
      if (re !== undefined && !/^[A-Za-z0-9_-]{8,64}$/.test(re)) {
        throw new BackendError(
          "usage",
          "--reply-to takes a message's id (read --json shows each message's id)",
        );
      }
      const m = await c.send(target, text, re ? { replyTo: re } : {});
      if (o.json) io.out(safeJson({ id: m.mid, seq: m.seq, time: isoSeconds(m.ts), to: formatTarget(m.to) }));
      else io.out(`Sent to ${formatTarget(m.to)} at ${isoSeconds(m.ts)}`);
    }));

  program.command("read").description("print new messages and acknowledge them")
    .option("--from <user>", "only direct messages with USER")
    .option("--room <room>", "only messages in ROOM")
    .option("--broadcast", "only broadcasts")
    .option(
      "--since <time>",
      "also print history since this time (2h, 3d, 2026-01-31, 2026-01-31T12:00:00Z, '1 Jun 2026 16:00')",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  parley read\n  parley read --room dev --since 2026-01-31T00:00:00Z --json",
    )
    .action(withClient(async (c, o) => {
      const picked = [o.from, o.room, o.broadcast].filter((x) => x !== undefined).length;
      if (picked > 1) throw new BackendError("usage", "Use only one of --from, --room and --broadcast");
      const filter: Target | undefined = o.from
        ? { kind: "user", name: canonical(String(o.from), "--from") }
        : o.room
        ? { kind: "room", name: canonical(String(o.room), "--room") }
        : o.broadcast
        ? { kind: "broadcast" }
        : undefined;
      const since = sinceFlag(o.since as string | undefined, (io.now ?? systemClock.now)());
      c.changes.purgeExpired((io.now ?? systemClock.now)()); // disappearing messages whose time is up go first
      const queued = await c.sync();
      // New = never shown by any client on this folder: what the queue brought and the screen
      // did not show, plus what was saved while no one showed it (a client killed mid-way).
      const store = c.store;
      const news = new Map<number, ChatMessage>();
      for (const m of queued) if (!store?.isSeen(m.seq)) news.set(m.seq, m);
      for (const m of store?.unseen() ?? []) news.set(m.seq, m);
      const fresh = [...news.values()].filter((m) => matches(c.user, m, filter)).sort((a, b) =>
        a.seq - b.seq
      );
      let shown = fresh;
      if (since !== undefined) {
        const seen = new Map<number, ChatMessage>();
        if (filter) { for (const m of await c.history(filter, since)) seen.set(m.seq, m); }
        for (const m of c.store?.list(c.user, since, filter) ?? []) seen.set(m.seq, m);
        for (const m of fresh) seen.set(m.seq, m);
        shown = [...seen.values()].filter((m) => m.ts >= since).sort((a, b) => a.seq - b.seq);
      }
      // Changes (edits, deletions, reactions) that arrived in the same sync apply to what is shown.
      const now = (io.now ?? systemClock.now)();
      shown = shown.map((m) => store?.get(m.seq) ?? m).filter((m) =>
        m.expires === undefined || m.expires > now
      );
      c.changes.purgeExpired(now);
      if (o.json) {
        io.out(
          safeJson(
            shown.map((m) => ({
              seq: m.seq,
              id: m.mid,
              time: isoSeconds(m.ts),
              from: m.from,
              to: formatTarget(m.to),
              text: m.text,
              ...(m.replyTo ? { reply_to: m.replyTo } : {}),
              ...(m.edited !== undefined ? { edited: isoSeconds(m.edited) } : {}),
              ...(m.deleted ? { deleted: true } : {}),
              ...(m.reactions ? { reactions: m.reactions } : {}),
              ...(m.expires !== undefined ? { expires: isoSeconds(m.expires) } : {}),
            })),
          ),
        );
      } else if (shown.length === 0) io.err("No new messages");
      else for (const m of shown) io.out(formatMessage(m));
      store?.markSeen(shown.map((m) => m.seq));
      await c.ack(queued.filter((m) => matches(c.user, m, filter)));
    }));

  program.command("who").description("who is online, from where, since when").option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  parley who\n  parley who --json")
    .action(withClient(async (c, o) => {
      const list = await c.who();
      if (o.json) return io.out(safeJson(list));
      for (const p of list) {
        io.out(
          `${p.user.padEnd(16)} ${p.status.padEnd(4)} ${(p.addr || "-").padEnd(22)} active since ${
            isoSeconds(p.since)
          }${p.role === "admin" ? " admin" : ""}${p.node ? ` node ${p.node}` : ""}`,
        );
      }
    }));

  program.command("status").description("set your status").argument("<busy|free>")
    .addHelpText("after", "\nExamples:\n  parley status busy\n  parley status free")
    .action(withClient(async (c, _o, args) => {
      const s = args[0];
      if (s !== "busy" && s !== "free") throw new BackendError("usage", `Status is busy or free, not "${s}"`);
      await c.setStatus(s);
      io.out(`Status: ${s}`);
    }));

  registerManageCommands(program, io, withClient); // room, fingerprint, verify, trust, admin
  registerDeviceCommands(program, io, withClient); // device link|add|list|remove, keys reset
  registerVideoCommands(program, io); // videos, play, stream, watch (lib/client/cli/video.ts)
  registerWatchTogetherCommand(program, io); // watch-together (lib/client/cli/watch_together.ts)
  registerFileCommands(program, io); // files, send-file, receive (lib/client/cli/files.ts)
  registerPeerCommand(program, io, setCode); // peer: no server (lib/client/cli/peer.ts)
  registerOutboxCommand(program, io, withClient);
  registerChangeCommands(program, io, withClient); // edit, delete, react, edits (lib/client/cli/changes.ts) // outbox, outbox drop (lib/client/cli/outbox.ts)

  program.action(async () => {
    if (!io.tui) throw new BackendError("usage", "Give a command; see --help");
    setCode(await io.tui(program.opts() as ConnectFlags));
  });
  return program;
}

/** The one name rule (lib/protocol/names.ts), as a usage error for a flag. */
function canonical(raw: string, flag: string): string {
  const n = normalizeName(raw);
  if (!n) throw new BackendError("usage", `${flag}: "${raw}" is not a valid name`);
  return n;
}

function matches(me: string, m: ChatMessage, f?: Target): boolean {
  if (!f) return true;
  if (f.kind !== m.to.kind) return false;
  if (f.kind === "broadcast") return true;
  if (f.kind === "room") return m.to.name === f.name;
  return m.from === f.name || (m.from === me && m.to.name === f.name);
}

export { Option };
