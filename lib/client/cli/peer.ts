/**
 * `parley peer --listen HOST:PORT [--user NAME] [--home DIR] [--ephemeral] [--out DIR]
 * [--accept-files] [--script FILE|-]`:
 * peer mode, chat with no server (lib/client/peer/node.ts). Without --script it opens the
 * full-screen client on the node's core (peer/node.ts `backend`, io.peerTui); with it, it runs one command per line of the
 * file or standard input and prints one line per event — a fixed contract:
 *
 *   listening HOST:PORT            once, when the listener is up (the port --listen :0 picked)
 *   TIME PEER TEXT                 a message arrived (TIME in UTC, ISO 8601, whole seconds; TEXT on
 *                                  one line: control characters, newlines included, shown as ^J etc.)
 *   connected PEER | disconnected PEER | key-changed PEER
 *   offer N PEER NAME SIZE SHA256  a file is offered (N: its number among those waiting, for accept)
 *   sent NAME SIZE SHA256          the peer saved a file sent to it
 *   saved PATH SIZE SHA256         a received file was verified and saved
 *   replied|edited|deleted|reacted|unreacted|expired …   replies, changes and disappearing
 *                                  messages (issue 39): cli/peer_changes.ts describes them
 *   outbox N … | dropped N …       (`outbox`, `outbox drop N`) what waits for a peer that is away,
 *                                  and what was dropped: cli/peer_outbox.ts describes them
 *   together PEER …                watch together (issue 39.7): cli/peer_watch.ts describes them
 *
 * Script commands (their table, usage and help: peer_script.ts; `--help` lists them): connect|conn HOST:PORT, msg PEER TEXT…, inbox [PEER] (prints "inbox TIME PEER
 * TEXT"), reply PEER TEXT…, edit PEER TEXT…, delete PEER, react PEER EMOJI, edits PEER, expire PEER
 * TIME|off (cli/peer_changes.ts), outbox [drop N] (cli/peer_outbox.ts), peers ("peer NAME ADDR verified|unverified online|offline [key-changed]"; --discover asks
 * verified peers whom they know and prints "discover N", the number asked), fingerprint
 * PEER, verify PEER [NUMBER], trust PEER [NUMBER] (NUMBER: the safety number compared; without it
 * the one `fingerprint` printed last, refused if the peer's key changed since), send PEER FILE (offers a file to a connected peer; returns once
 * offered), accept [N] | reject [N] (a waiting offer, default the oldest), files ("file N|- in|out
 * PEER STATE SIZE NAME"), watch-together PEER [FILE], watch PEER play|pause|seek|where|leave [SECONDS]
 * (cli/peer_watch.ts), wait connected|message|changed|offer|sent|saved PEER [SECONDS] (sent and saved
 * fail at once when that transfer fails), sleep MS, quit. Received files go to --out DIR, else
 * <home>/downloads; with --ephemeral and no --out nothing can be received. Blank lines and lines
 * starting with # are skipped. The node stops at the end of the script (what waits in the outbox
 * stays for next time; a transfer still running goes on at the next run). Errors, refused or
 * failed files included, go to `err` as "parley: …" and the run goes on; the exit code is 1 when
 * any command or file transfer failed. Transfer progress goes to `err` when it is a terminal.
 */
import type { Command } from "commander";
import { BackendError, type BackendEvent } from "../backend.ts";
import { progressReporter } from "./files.ts";
import type { CliIo } from "./io.ts";
import { messageLine, runScriptLine, scriptHelp, scriptHint } from "./peer_script.ts";
import { changeEventLine } from "./peer_changes.ts";
import { watchEventLine } from "./peer_watch.ts";
import type { PeerNode } from "../peer/node.ts";
import { NEVER_SENT } from "../core/engine_outbox.ts";
import { normalizeName } from "../../protocol/names.ts";

/**
 * The event lines of the scripted contract (null: not printed), from the node's core's events (`me`:
 * the node's name): a peer's message, a peer coming and going, a changed key, files.
 */
export function peerEventLine(e: BackendEvent, me: string): string | null {
  if (e.type === "message") return e.message.from === me ? null : messageLine(e.message);
  if (e.type === "presence" && e.user !== me) return `${e.online ? "connected" : "disconnected"} ${e.user}`;
  if (e.type === "notice" && e.keyChanged) return `key-changed ${e.keyChanged}`;
  if (e.type === "file.offer") {
    const o = e.offer;
    return `offer ${o.n} ${o.from} ${o.name} ${o.size} ${o.sha256}`;
  }
  if (e.type === "file.sent") return `sent ${e.name} ${e.size} ${e.sha256}`;
  if (e.type === "file.saved") return `saved ${e.path} ${e.size} ${e.sha256}`;
  return null;
}

/**
 * Whether the script says notice `e` on standard error: a warning or an error, but not a changed key
 * (its line is `key-changed PEER`) nor a resend refused for good (said once, as my text's failure).
 */
export function saysNotice(e: Extract<BackendEvent, { type: "notice" }>): boolean {
  return e.level !== "info" && !e.keyChanged && !(e.level === "error" && e.text.startsWith(NEVER_SENT));
}

/** Starts a node from the command's flags (the full-screen client and the script share it). */
export async function startPeerNode(
  o: {
    listen?: string;
    user?: string;
    home?: string;
    ephemeral?: boolean;
    out?: string;
    acceptFiles?: boolean;
  },
  io: CliIo,
): Promise<PeerNode> {
  if (!o.listen) throw new BackendError("usage", "Say where to listen: --listen HOST:PORT");
  // The node's modules load when `peer` runs (cli/main.ts: no family loads its work eagerly).
  const [{ PeerNode }, { PeerStore }, { hostPort, resolveTarget }] = await Promise.all([
    import("../peer/node.ts"),
    import("../peer/store.ts"),
    import("../start/session_setup.ts"),
  ]);
  const { host, port } = hostPort(o.listen, 0);
  const t = resolveTarget(
    { ...(o.home ? { home: o.home } : {}), ...(o.user ? { user: o.user } : {}) },
    io.env,
  );
  const name = normalizeName(t.user ?? "");
  if (!name) throw new BackendError("usage", "Give your peer name: --user NAME (or PARLEY_USER)");
  // --ephemeral leaves nothing in the client folder: received files need a folder of their own.
  const downloads = o.out ?? (o.ephemeral ? null : `${t.home}/downloads`);
  if (o.acceptFiles && !downloads) {
    throw new BackendError(
      "usage",
      "--accept-files with --ephemeral needs --out DIR (nothing is kept in --home)",
    );
  }
  const store = await PeerStore.open(o.ephemeral ? null : t.home, name);
  const files = { downloads, acceptFiles: o.acceptFiles === true };
  return await PeerNode.start({ name, store, hostname: host, port, ...files }).catch((e) => {
    store.close();
    throw new BackendError("listen_failed", `Cannot listen on ${o.listen}: ${(e as Error).message}`);
  });
}

/** Registers `parley peer`. */
export function registerPeerCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program.command("peer").description("peer mode: chat with no server (full screen, or --script)")
    .requiredOption("--listen <host:port>", "address to listen on (port 0: any free port)")
    .option("--ephemeral", "keep keys and messages in memory only; the client folder is not touched")
    .option("--out <dir>", "save received files in DIR (default <home>/downloads; none with --ephemeral)")
    .option(
      "--accept-files",
      "accept every file a verified peer offers at once (else, and from others: /accept, or accept in a script)",
    )
    .option("--script <file|->", "run commands from FILE (or - for standard input), one event per line")
    .addHelpText(
      "after",
      "\nExamples:\n  parley peer --listen 0.0.0.0:7000 --user alice\n  parley peer --listen 127.0.0.1:0 --user bob --ephemeral --script -\n  printf 'connect 10.0.0.2:7000\\nmsg carol hi\\nsleep 2000\\n' | parley peer --listen :7001 --user dave --script -\n  printf 'connect 10.0.0.2:7000\\nsend carol ./report.pdf\\nwait sent carol 600\\n' | parley peer --listen :7001 --user dave --script -\n  parley peer --listen :7002 --user carol --ephemeral --out ~/incoming --accept-files --script -",
    )
    .addHelpText("after", () => `\nScript commands (--script, one a line):\n${scriptHelp().join("\n")}`)
    .action(async (...a: unknown[]) => {
      const o = (a[a.length - 1] as Command).optsWithGlobals() as Record<
        string,
        string | boolean | undefined
      >;
      const node = await startPeerNode(o as never, io);
      if (!o.script) {
        if (!io.peerTui) {
          await node.close();
          throw new BackendError("usage", "The full-screen peer mode needs a terminal; use --script");
        }
        const [{ resolveTarget }, { screenFiles }] = await Promise.all([
          import("../start/session_setup.ts"),
          import("../start/target.ts"),
        ]);
        const { home } = resolveTarget(o.home ? { home: String(o.home) } : {}, io.env);
        const files = screenFiles(home, io.env, `${node.name}@peer`); // settings and logs, as with a server
        return setCode(await io.peerTui(node, { outbox: `${home}/outbox`, files }));
      }
      if (!io.scriptLines) throw new BackendError("usage", "Scripts cannot be read here");
      let failed = false;
      const progress = progressReporter(io);
      const say = (text: string) => io.err(`parley: ${scriptHint(text)}`); // hints in the script's words
      const off = node.on((e) => {
        const l = peerEventLine(e, node.name);
        if (l) io.out(l);
        const c = changeEventLine(node, e);
        if (c) io.out(c);
        else if (e.type === "notice") {
          if (saysNotice(e)) say(e.text);
        } else if (e.type === "message" && e.message.from === node.name && e.message.failed) {
          io.err(`parley: not sent, and never will be: ${e.message.failed}`);
        } else if (e.type === "file.failed") {
          failed = true;
          say(e.why);
        } else if (e.type === "transfer" && progress) progress({ ...e, fid: e.id });
      });
      const offWatch = node.watch.on((e) => {
        const l = watchEventLine(e);
        if (l) io.out(l);
        else if (e.type === "note") say(e.text);
      });
      io.out(`listening ${String(o.listen).replace(/:\d+$/, "")}:${node.port}`);
      try {
        for await (const line of io.scriptLines(String(o.script))) {
          if (!line.trim() || line.trimStart().startsWith("#")) continue;
          try {
            if (await runScriptLine(node, line, io)) break;
          } catch (e) {
            failed = true;
            say((e as Error).message);
          }
        }
      } finally {
        off();
        offWatch();
        await node.close();
      }
      setCode(failed ? 1 : 0);
    });
}
