/**
 * Scripted file commands (fixed contract, registered on the `parley` program by cli/main.ts; issue 12):
 *   files [--json]                                        offers received and files sent, with state
 *   files withdraw FID                                    take back a file sent (FID or its start, ≥ 4
 *                                                         characters) before its recipient has it; prints
 *                                                         `withdrawn FID to WHO SIZE NAME`; the recipient is told
 *   send-file TARGET PATH [--direct|--direct-only|--relay] [--wait S] [--stall S]
 *                                                         offer and upload; prints `sent NAME SIZE SHA256`;
 *                                                         --direct waits --wait S (15 s) for the direct path,
 *                                                         then relays, said on stderr; --direct-only never relays
 *                                                         (TARGET #room: one upload, one offer every member opens)
 *   receive [--from USER|--from-anyone] [--out DIR] [--timeout S] [--relay] [--max-size SIZE] [--stall S]
 *                                                         accept waiting offers; one `saved PATH SIZE SHA256`
 *                                                         line per file (default folder <home>/downloads);
 *                                                         who, how and how big: files/policy.ts
 * Every command logs in with the client folder's keystore: the file key travels end to end inside
 * the offer, and an interrupted send or receive run again continues where it stopped. Progress
 * (bar, bytes, rate, ETA) goes to standard error only when it is a terminal, at most once a second;
 * standard output keeps only the fixed-contract lines. What `receive` does: files_receive.ts.
 */
import type { Command } from "commander";
import { safeJson, sanitize } from "../../common/sanitize.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { type CliIo, scriptedSession } from "./io.ts";
import type { FileTransfers, SendMode, TransferProgress } from "../files/transfers.ts";
import { progressText, RateMeter, sizeText } from "../../common/progress.ts";
import { systemClock } from "../../common/clock.ts";
import { DEFAULT_MAX_SIZE, DIRECT_FIRST_MS, DIRECT_WAIT_MS } from "../files/policy.ts";
import { STALL_MS } from "../files/stall.ts";
import type { FileOpts } from "./files_receive.ts";

// The transfers' modules load when a file command runs (cli/main.ts: no family loads its work eagerly).
const receiving = () => import("./files_receive.ts");

type Opts = FileOpts;

/** `--stall S` in milliseconds (STALL_MS when not given); S must be more than 0. */
function stallMs(v: unknown, seconds: (v: unknown, flag: string) => number): number {
  if (v === undefined) return STALL_MS;
  const s = seconds(v, "--stall");
  if (!s) throw new BackendError("usage", "--stall takes a number of seconds > 0");
  return s * 1000;
}

/**
 * Progress for standard error when it is a terminal (undefined otherwise): plaintext bytes done of
 * the total, rate and ETA, redrawn in place (`errStatus`) at most once a second per file; the
 * final state (done, failed) stays on its line.
 */
export function progressReporter(
  io: Pick<CliIo, "err" | "errTerminal" | "errStatus" | "now">,
): ((p: TransferProgress) => void) | undefined {
  if (!io.errTerminal) return undefined;
  const now = io.now ?? systemClock.now;
  const meter = new RateMeter(now);
  const last = new Map<string, number>();
  return (p) => {
    const rate = meter.rate(p.fid, p.done, p.state === "active");
    const t = now();
    if (p.state === "active" && t - (last.get(p.fid) ?? -Infinity) < 1000) return;
    last.set(p.fid, t);
    const arrow = p.direction === "up" ? "↑" : "↓";
    const text = `${arrow} ${sanitize(p.name)} ${
      p.state === "active" ? progressText(p.done, p.total, rate, 20) : p.state
    }`;
    if (io.errStatus) io.errStatus(text, p.state !== "active"); // redrawn in place, kept when it ends
    else io.err(text);
  };
}

/** A fixed-contract line: its fields (names from others among them) escaped, so it stays one line. */
const line = (...f: unknown[]) => f.map((x) => sanitize(String(x))).join("  ");

/** `send-file --direct`: waits a little for the direct path, then relays (issue 71.15). */
const DIRECT_HELP = `straight to the recipient's client: wait for it to accept (up to --wait, default ${
  DIRECT_FIRST_MS / 1000
} s), then through the server, said on standard error`;
const DIRECT_ONLY_HELP =
  `only straight to the recipient's client: wait for it to accept (up to --wait, default ${
    DIRECT_WAIT_MS / 1000
  } s), never relay`;

/** Registers `files`, `send-file` and `receive` on the program, in this order. */
export function registerFileCommands(program: Command, io: CliIo): void {
  const run = (fn: (c: ChatClient, ft: FileTransfers, o: Opts, args: string[]) => Promise<void>) =>
  async (
    ...a: unknown[]
  ) => {
    const cmd = a[a.length - 1] as Command;
    const o = cmd.optsWithGlobals() as Opts;
    const [{ FileTransfers }, { seconds }] = await Promise.all([
      import("../files/transfers.ts"),
      receiving(),
    ]);
    const stall = stallMs(o.stall, seconds);
    await scriptedSession(
      io,
      o,
      { keepHistory: true },
      (c) => fn(c, FileTransfers.of(c, progressReporter(io), !o.relay, stall), o, cmd.args),
    );
  };
  program.command("files").description(
    "list files offered to you and files you sent; withdraw FID takes one sent back",
  )
    .argument(
      "[withdraw]",
      "withdraw: take back file FID you sent, before its recipient has it (they are told)",
    )
    .argument("[fid]", "the file's id as listed (or its first 4 characters or more)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  parley files\n  parley files --json\n  parley files withdraw 3kQ9x2Lm",
    )
    .action(run((c, ft, o, args) => args.length ? withdrawFile(io, ft, args) : listFiles(io, c, ft, o)));

  program.command("send-file").description("send a file to a user, encrypted end to end (resumable)")
    .argument("<target>", "user, or #room for every other member (one upload, through the server)")
    .argument("<path>", "file to send")
    .option("--direct", DIRECT_HELP)
    .option("--direct-only", DIRECT_ONLY_HELP)
    .option(
      "--relay",
      "only through the server (default: the relay, moving to the direct path when it opens)",
    )
    .option("--wait <s>", "then wait up to S seconds until the recipient has it (--direct: for it to accept)")
    .option("--stall <s>", `fail when the server takes no byte for S seconds (default ${STALL_MS / 1000})`)
    .addHelpText(
      "after",
      "\nExamples:\n  parley send-file bob ./report.pdf\n  parley send-file bob ./big.iso --direct-only --wait 600" +
        "\n  parley send-file '#team' ./notes.txt --relay",
    )
    .action(run((c, ft, o, [target, path]) => sendFile(io, c, ft, o, target!, path!)));

  program.command("receive").description("accept files offered to you and save them")
    .option("--from <user>", "only files from USER (who may then use the direct path)")
    .option(
      "--from-anyone",
      "also files from senders who are not verified contacts (through the relay only: they never learn your address)",
    )
    .option("--out <dir>", "folder to save into (default <home>/downloads)")
    .option("--timeout <s>", "wait up to S seconds for an offer when none is waiting")
    .option(
      "--stall <s>",
      `fail when no byte arrives for S seconds, keeping the .part (default ${STALL_MS / 1000})`,
    )
    .option("--relay", "only through the server: open no direct path (the sender never learns your address)")
    .option(
      "--max-size <size>",
      `take no file larger than SIZE (bytes, or 500M, 2G…; default ${sizeText(DEFAULT_MAX_SIZE)})`,
    )
    .addHelpText(
      "after",
      "\nWithout --from or --from-anyone only files from verified contacts are taken; others stay offered." +
        "\n\nExamples:\n  parley receive\n  parley receive --from alice --out ~/Downloads --timeout 60" +
        "\n  parley receive --from-anyone --max-size 100M",
    )
    .action(run(async (c, ft, o) => (await receiving()).receiveFiles(io, c, ft, o)));
}

/** `files`: offers received and files sent, one line each (or JSON). */
async function listFiles(io: CliIo, c: ChatClient, ft: FileTransfers, o: Opts): Promise<void> {
  await (await receiving()).syncOffers(c);
  const { reconcileTaken } = await import("../files/receive.ts");
  const listed = await ft.serverFiles();
  await reconcileTaken(ft.ops, c.user, listed); // offers another device of this user took: `elsewhere`
  const server = new Map(listed.map((f) => [f.fid, f]));
  const incoming = (await ft.incoming()).map(({ key: _k, ...r }) => r);
  const outgoing = (await ft.outgoing()).map(({ key: _k, salt: _s, ...r }) => ({
    ...r,
    delivered: server.get(r.fid)?.state === "done",
  }));
  if (o.json) return io.out(safeJson({ incoming, outgoing }));
  if (!incoming.length && !outgoing.length) io.err("No files");
  // One line per file: every field is escaped (a name holding "\n" cannot forge a line).
  for (const r of incoming) io.out("in  " + line(r.fid, `from ${r.from}`, r.size, r.state, r.name));
  for (const r of outgoing) {
    io.out("out " + line(r.fid, `to ${r.to}`, r.size, r.delivered ? "delivered" : r.state, r.name));
  }
}

/** `files withdraw FID`: one `withdrawn FID to WHO SIZE NAME` line. */
async function withdrawFile(io: CliIo, ft: FileTransfers, [verb, fid = ""]: string[]): Promise<void> {
  if (verb !== "withdraw" || !fid) {
    throw new BackendError("usage", "Use: parley files withdraw FID (the id 'parley files' lists)");
  }
  const r = await ft.withdraw(fid);
  io.out("withdrawn  " + line(r.fid, `to ${r.to}`, r.size, r.name));
}

/** `send-file TARGET PATH`: one `sent NAME SIZE SHA256` line (a room: one upload, one offer every member opens). */
async function sendFile(
  io: CliIo,
  c: ChatClient,
  ft: FileTransfers,
  o: Opts,
  target: string,
  path: string,
): Promise<void> {
  const only = o.directOnly === true;
  for (const [f, flag] of [["direct", "--direct"], ["directOnly", "--direct-only"]] as const) {
    if (o[f] && o.relay) throw new BackendError("usage", `Use only one of ${flag} and --relay`);
  }
  const mode: SendMode = o.direct || only ? "direct" : o.relay ? "relay" : "auto";
  const { line1, seconds, syncOffers } = await receiving();
  const wait = seconds(o.wait, "--wait");
  // Live delivery: the recipient's direct-path candidate arrives as an end-to-end message.
  if (mode !== "relay") await syncOffers(c);
  if (target.startsWith("#")) {
    if (wait > 0) throw new BackendError("usage", "--wait takes one user, not a room");
    if (mode === "direct") throw new BackendError("usage", "--direct takes one user, not a room");
    const s = await ft.sendRoom(target, path);
    return io.out(line1("sent", s.name, s.size, s.sha256));
  }
  const waitMs = wait > 0 ? wait * 1000 : only ? DIRECT_WAIT_MS : DIRECT_FIRST_MS;
  if (mode === "direct") {
    io.err(
      `parley: waiting up to ${
        waitMs / 1000
      } s for ${target} to accept (parley receive) and open a direct path${
        only ? "" : ", then through the server"
      }`,
    );
  }
  const s = await ft.send(target, path, mode, waitMs).catch(async (e) => {
    // --direct: nobody opened a path in time (or it broke off): the relay, said (issue 71.15).
    if (only || mode !== "direct" || !(e instanceof BackendError && e.code === "direct_failed")) throw e;
    io.err(`parley: ${sanitize(e.message)}; sending through the server instead (--direct-only never relays)`);
    return await ft.send(target, path, "auto", waitMs);
  });
  io.out(line1("sent", s.name, s.size, s.sha256));
  io.err(
    `parley: ${sanitize(s.name)} went ${
      s.via === "direct" ? "straight to" : "through the server to"
    } ${target}`,
  );
  if (mode === "direct") return; // --wait was the wait for the direct path
  if (wait > 0 && s.via === "relay" && !(await ft.delivered(s.fid, wait * 1000))) {
    throw new BackendError("timeout", `${target} has not received ${s.name} within ${wait} s`);
  }
}
