/**
 * The command table of peer mode (`parley peer`, no server): `/connect HOST:PORT` (alias `/conn`),
 * `/peers` (name, address, verified, online) and `/send-file PEER ID|PATH` (a file straight to a
 * connected peer), `/watch-together @PEER [PATH]` (a local video in step, watch_view.ts), plus the rows of the main table that make sense without a server (messages, /me, /clear, /mute,
 * /inbox, /outbox, keys, /ls, /accept, /reject, /files, /reply, /edit, /delete, /react, /expire,
 * /help, /quit). The app takes it through
 * `TuiOptions.commands`, so parsing, /help and Tab completion all follow it.
 */
import { capability } from "../backend.ts";
import { COMMANDS, type CommandSpec } from "./commands.ts";
import { counted } from "../../common/words.ts";

const KEEP = [
  "help",
  "msg",
  "query",
  "me",
  "part",
  "inbox",
  "outbox",
  "history",
  "set",
  "clear",
  "mute",
  "unmute",
  "muted",
  "fingerprint",
  "verify",
  "trust",
  "info",
  "ls",
  "accept",
  "reject",
  "files",
  "withdraw",
  "quit",
  // Issue 39: replies, edits, deletions, reactions, disappearing messages (core/message_changes.ts, in peer mode too).
  "reply",
  "edit",
  "delete",
  "react",
  "expire",
];

const SEND = COMMANDS.find((c) => c.name === "send-file")!;

const PEER_ONLY: readonly CommandSpec[] = [
  {
    ...SEND,
    usage: "PEER ID|PATH…",
    help:
      "Send a file (an outbox id from /ls, or a path) straight to a connected peer; saved once they /accept",
  },
  {
    name: "watch-together",
    usage: "@PEER [PATH…]",
    help: "Watch a local video with a peer, in step, each playing their own copy: PATH starts it for both " +
      "(offered first when they have none), without it you join; space, ←/→ act for both, q leaves",
    permission: "user",
    run: (ctx, [peer, path]) => {
      if (!ctx.video.watch) throw new Error("This client cannot watch videos together");
      return ctx.video.watch.start(peer!, path);
    },
  },
  {
    name: "connect",
    aliases: ["conn"],
    usage: "HOST:PORT",
    help: "Connect to a peer listening at HOST:PORT (it is remembered and reconnected)",
    permission: "user",
    run: async (ctx, [addr]) => {
      const peers = capability(ctx.backend, "peers");
      ctx.print(`Connecting to ${addr}…`);
      const name = await peers.connect(addr!);
      ctx.print(`Connected to ${name} at ${addr}`);
    },
  },
  {
    name: "peers",
    usage: "[--discover]",
    help:
      "Known peers: name, address, verified or not, online; --discover asks verified peers whom they know",
    permission: "user",
    run: async (ctx, [flag]) => {
      const peers = capability(ctx.backend, "peers");
      if (flag !== undefined) {
        if (flag !== "--discover") throw new Error("Usage: /peers [--discover]");
        const n = await peers.discover();
        return ctx.print(
          n ? `Asked ${counted(n, "verified peer")} whom they know` : "No verified peer is connected",
        );
      }
      const list = await peers.list();
      if (!list.length) return ctx.print("No peers yet: /connect HOST:PORT");
      for (const p of list) {
        ctx.print(
          `${p.name.padEnd(16)} ${(p.addr ?? "-").padEnd(22)} ${p.verified ? "verified  " : "unverified"} ${
            p.online ? "online" : "offline"
          }${p.changed ? "  KEY CHANGED: /fingerprint, then /verify or /trust" : ""}`,
        );
      }
    },
  },
];

/** The command table of peer mode, for `runTui`'s `commands` (see the module comment). */
export const PEER_COMMANDS: readonly CommandSpec[] = [
  ...COMMANDS.filter((c) => KEEP.includes(c.name)),
  ...PEER_ONLY,
];
