/**
 * The commands of a peer script (`parley peer --script`), one table: name, aliases, usage, help and
 * what it does. The usage is also the check (lib/common/usage.ts: too few words answer "Usage: …";
 * words past the usage are ignored, as scripts always had it), `parley peer --help` lists the table
 * (`scriptHelp`), and README's sentence of script commands is checked against it
 * (lib/client/cli/peer_test.ts). The output lines are a fixed contract (peer.ts describes them).
 */
import { BackendError } from "../backend.ts";
import type { CliIo } from "./io.ts";
import type { PeerNode } from "../peer/node.ts";
import { normalizeName } from "../../protocol/names.ts";
import { arity, splitArgs } from "../../common/usage.ts";
import type { BackendEvent, ChatMessage } from "../backend.ts";
import { sanitize } from "../../common/sanitize.ts";
import { isoSeconds } from "../../common/parse_time.ts";
import { CHANGE_SCRIPT, type ScriptCommand } from "./peer_changes.ts";
import { OUTBOX_SCRIPT } from "./peer_outbox.ts";
import { WATCH_SCRIPT } from "./peer_watch.ts";

/**
 * `TIME PEER TEXT`: the text from the peer on one line, whatever it holds (issue 33.9: a newline in
 * it can never forge a line of the script's output; the one escaping rule shows it as ^J). A message
 * deleted since shows as "(message deleted)", an edited one ends with " (edited)" (issue 39).
 */
export function messageLine(m: ChatMessage): string {
  if (m.deleted) return `${isoSeconds(m.ts)} ${m.from} (message deleted)`;
  return `${isoSeconds(m.ts)} ${m.from} ${sanitize(m.text)}${m.edited !== undefined ? " (edited)" : ""}`;
}

function waitEvent(node: PeerNode, pred: (e: BackendEvent) => boolean, ms: number, what: string) {
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new BackendError("timeout", `Timed out waiting for ${what}`));
    }, ms);
    const off = node.on((e) => {
      if (!pred(e)) return;
      clearTimeout(t);
      off();
      resolve();
    });
  });
}

function offerNumber(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s) || Number(s) < 1) {
    throw new BackendError("usage", `"${s}" is not an offer number (see files)`);
  }
  return Number(s);
}

const WAIT_USAGE = "connected|message|changed|offer|sent|saved PEER [SECONDS]";

async function waitFor(node: PeerNode, [what, peer, secs]: string[]): Promise<void> {
  const who = normalizeName(peer!);
  const ms = (Number(secs) || 30) * 1000;
  if (what === "offer" || what === "sent" || what === "saved") {
    const dir = what === "sent" ? "up" : "down";
    let failed: string | undefined;
    await waitEvent(
      node,
      (e) => {
        if (e.type === "file.failed" && e.peer === who && e.direction === dir && what !== "offer") {
          failed = e.why;
          return true;
        }
        if (what === "offer") return e.type === "file.offer" && e.offer.from === who;
        return e.type === (what === "sent" ? "file.sent" : "file.saved") && e.peer === who;
      },
      ms,
      what === "offer" ? `a file offer from ${who}` : `a file ${what === "sent" ? "to" : "from"} ${who}`,
    );
    if (failed) throw new BackendError("file_failed", failed);
  } else if (what === "connected") {
    if (node.peers().some((p) => p.name === who && p.online)) return;
    const came = (e: BackendEvent) => e.type === "presence" && e.online && e.user === who;
    await waitEvent(node, came, ms, `${who} to connect`);
  } else if (what === "message") {
    await waitEvent(node, (e) => e.type === "message" && e.message.from === who, ms, `a message from ${who}`);
  } else if (what === "changed") {
    await waitEvent(node, (e) => e.type === "message.changed" && e.by === who, ms, `a change from ${who}`);
  } else throw new BackendError("usage", `Usage: wait ${WAIT_USAGE}`);
}

async function trust(node: PeerNode, [peer, number]: string[], io: CliIo, verify: boolean): Promise<void> {
  await node.trust(peer!, verify, number || undefined);
  io.out(`${verify ? "verified" : "trusted"} ${normalizeName(peer!)}`);
}

export const PEER_SCRIPT: readonly ScriptCommand[] = [
  {
    name: "connect",
    aliases: ["conn"],
    usage: "HOST:PORT",
    help: "connect to a peer (remembered and redialled)",
    run: (node, [addr]) => node.connect(addr!),
  },
  {
    name: "msg",
    usage: "PEER TEXT…",
    help: "send a message",
    run: (node, [peer, text]) => node.client.send({ kind: "user", name: peer! }, text!),
  },
  {
    name: "inbox",
    usage: "[PEER]",
    help: 'print the messages kept ("inbox TIME PEER TEXT")',
    run: (node, [peer], io) => {
      for (const m of node.inbox(peer)) io.out(`inbox ${messageLine(m)}`);
    },
  },
  ...CHANGE_SCRIPT,
  ...OUTBOX_SCRIPT,
  {
    name: "peers",
    usage: "[--discover]",
    help: 'list peers ("peer NAME ADDR verified|unverified online|offline [key-changed]"); --discover asks ' +
      'verified peers whom they know ("discover N")',
    run: (node, [flag], io) => {
      if (flag === "--discover") return io.out(`discover ${node.discover()}`);
      for (const p of node.peers()) {
        io.out(
          `peer ${p.name} ${p.addr ?? "-"} ${p.verified ? "verified" : "unverified"} ${
            p.online ? "online" : "offline"
          }${p.changed ? " key-changed" : ""}`,
        );
      }
    },
  },
  {
    name: "fingerprint",
    usage: "PEER",
    help: 'print the safety number ("fingerprint PEER NUMBER")',
    run: async (node, [peer], io) => {
      const f = await node.fingerprint(peer!);
      io.out(`fingerprint ${f.user} ${f.safetyNumber}`);
      // The encryption layer's modules load here, not with the script table (`parley peer --help` prints it).
      if (f.others) io.err((await import("../e2e/mod.ts")).othersWarning(f.user, f.others, "verify"));
    },
  },
  {
    name: "verify",
    usage: "PEER [NUMBER…]",
    help: "mark a peer verified (NUMBER: the safety number compared; default the one printed last)",
    run: (node, args, io) => trust(node, args, io, true),
  },
  {
    name: "trust",
    usage: "PEER [NUMBER…]",
    help: "accept a peer's key without verifying it",
    run: (node, args, io) => trust(node, args, io, false),
  },
  {
    name: "wait",
    usage: WAIT_USAGE,
    help:
      "wait for an event from PEER (default 30 s; changed: an edit, deletion or reaction; sent and saved fail at once when the transfer fails)",
    run: (node, args) => waitFor(node, args),
  },
  {
    name: "send",
    aliases: ["send-file"], // the full-screen client's and `parley send-file`'s name
    usage: "PEER FILE…",
    help: "offer a file to a connected peer (returns once offered)",
    run: async (node, [peer, path]) => void (await node.sendFile(peer!, path!)),
  },
  {
    name: "accept",
    usage: "[N]",
    help: "accept a waiting offer (default the oldest)",
    run: (node, [n]) => node.files.accept(offerNumber(n)),
  },
  {
    name: "reject",
    usage: "[N]",
    help: "refuse a waiting offer (default the oldest)",
    run: (node, [n]) => node.files.reject(offerNumber(n)),
  },
  {
    name: "files",
    usage: "",
    help: 'list transfers ("file N|- in|out PEER STATE SIZE NAME")',
    run: (node, _a, io) => {
      for (const f of node.files.list()) {
        io.out(`file ${f.n ?? "-"} ${f.direction} ${f.peer} ${f.state} ${f.size} ${f.name}`);
      }
    },
  },
  ...WATCH_SCRIPT,
  {
    name: "sleep",
    usage: "MS",
    help: "wait MS milliseconds (at most an hour)",
    run: async (_node, [ms]) =>
      void (await new Promise((r) => setTimeout(r, Math.min(Number(ms) || 0, 3_600_000)))),
  },
  { name: "quit", usage: "", help: "stop here (the end of the script does too)", run: () => true },
];

/**
 * A hint the peer layer words for the full-screen client ("/fingerprint noor, then /verify noor") as a
 * script says it (issue 71.20): each of the script's command names without its slash ("fingerprint
 * noor, then verify noor"); other words, and paths, stay.
 */
export function scriptHint(text: string): string {
  return text.replace(
    /(?<![\w/.~-])\/([a-z][\w-]*)(?![\w/.-])/g,
    (all, name: string) => PEER_SCRIPT.some((c) => c.name === name || c.aliases?.includes(name)) ? name : all,
  );
}

/** One line per script command: usage and help, as `parley peer --help` shows them. */
export function scriptHelp(): string[] {
  const heads = PEER_SCRIPT.map((c) =>
    [c.name, ...(c.aliases ?? [])].join("|") + (c.usage ? ` ${c.usage}` : "")
  );
  const w = Math.max(...heads.map((h) => h.length));
  return PEER_SCRIPT.map((c, i) => `  ${heads[i]!.padEnd(w)}  ${c.help}`);
}

/** Runs one script line; true when it was `quit`. */
export async function runScriptLine(node: PeerNode, line: string, io: CliIo): Promise<boolean> {
  const [, name = "", rest = ""] = /^\s*(\S*)\s*([\s\S]*)$/.exec(line)!;
  const cmd = PEER_SCRIPT.find((c) => c.name === name || c.aliases?.includes(name));
  if (!cmd) throw new BackendError("usage", `Unknown script command "${name}"`);
  const a = arity(cmd.usage);
  const args = splitArgs(rest.trimEnd(), a.max, a.rest);
  if (args.length < a.min) throw new BackendError("usage", `Usage: ${`${name} ${cmd.usage}`.trimEnd()}`);
  return (await cmd.run(node, args, io)) === true;
}
