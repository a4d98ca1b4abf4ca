/**
 * The file rows of the command table (`COMMANDS` in commands.ts appends them; issue 12): `/ls`
 * (the outbox folder, numbered), `/send-file USER ID|PATH` (alias `/send`), `/accept [N]` (a file offer; with no file
 * offered it accepts a video stream), `/reject [N]`, `/files`, `/withdraw N` (take back file N sent, as
 * `/files` numbers them, where the backend can). Transfers run in the background:
 * their progress is the "transfer" event in the status line and the end is a line in the buffer.
 * Handlers use the backend's `files` capability; they never touch the terminal or the disk.
 */
import { capability, type FileControls } from "../backend.ts";
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import type { CommandContext, CommandSpec } from "./command_context.ts";
import { user, whenText } from "./command_context.ts";
import { sizeText } from "../../common/progress.ts";

function files(ctx: CommandContext): FileControls {
  return capability(ctx.backend, "files");
}

function number(s: string | undefined, what = "an offer"): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new Error(`"${s}" is not ${what} number (see /files)`);
  return Number(s);
}

/** Runs a transfer after the command returns; its end (or failure) is printed then. */
function background(ctx: CommandContext, p: Promise<string>): void {
  p.then((text) => ctx.print(text), (e) => ctx.print(e instanceof Error ? e.message : String(e), "error"));
}

export const FILE_COMMANDS: readonly CommandSpec[] = [
  {
    name: "ls",
    usage: "",
    help: "List the outbox folder (--outbox, default <home>/outbox) with ids for /send-file",
    permission: "user",
    run: async (ctx) => {
      const list = await files(ctx).outbox();
      if (!list.length) return ctx.print("The outbox folder is empty");
      for (const f of list) ctx.print(`  ${f.id}  ${sanitize(f.name)}  ${sizeText(f.size)}`);
    },
  },
  {
    // One vocabulary across surfaces: "send" is a message in the CLI (`parley send`), so a file's
    // command is /send-file; /send stays an alias that says so.
    name: "send-file",
    aliases: ["send"],
    aliasHints: { send: "/send sends a file here; its name is /send-file (text is typed as is, or /msg)" },
    usage: "USER|#ROOM ID|PATH…",
    help: "Send a file (an outbox id from /ls, or a path) to a user or every room member, end to end",
    permission: "user",
    run: (ctx, [u, what]) => {
      const f = files(ctx);
      // "Sending…" is said once the file is found; a bad id or path is only its error line.
      if (u!.startsWith("#")) {
        const said = (name: string) =>
          ctx.print(`Sending ${sanitize(name)} to every member of ${sanitize(u!)}…`);
        return background(
          ctx,
          f.sendRoom(u!, what!, said).then((s) =>
            `Sent ${sanitize(s.name)} (${sizeText(s.size)}) to ${
              s.to.map(sanitizeName).join(", ")
            }; SHA-256 ${s.sha256}`
          ),
        );
      }
      const to = user(u!);
      const said = (name: string) => ctx.print(`Sending ${sanitize(name)} to ${sanitizeName(to)}…`);
      background(
        ctx,
        f.send(to, what!, said).then((s) =>
          `Sent ${sanitize(s.name)} (${sizeText(s.size)}) to ${sanitizeName(to)}; SHA-256 ${s.sha256}`
        ),
      );
    },
  },
  {
    name: "accept",
    usage: "[N]",
    help: "Accept file offer N (default the oldest) and save it; with no file offered, accept a stream",
    permission: "user",
    run: async (ctx, [n]) => {
      const f = ctx.backend.files;
      if (!f || (n === undefined && (await f.waiting()) === 0)) return await ctx.video.accept();
      const list = await f.list();
      const offer = list.find((e) => e.n === (number(n) ?? 1));
      if (!offer) throw new Error("No such file offer (see /files)");
      ctx.print(`Receiving ${sanitize(offer.name)} from ${sanitizeName(offer.peer)}…`);
      background(
        ctx,
        f.accept(number(n)).then((r) => {
          ctx.savedFile?.(r.path, r.name, { user: r.from, ...(r.room ? { room: r.room } : {}) });
          return `Saved ${sanitize(r.path)} (${sizeText(r.size)}) from ${sanitizeName(r.from)}`;
        }),
      );
    },
  },
  {
    name: "reject",
    usage: "[N]",
    help: "Refuse file offer N (default the oldest)",
    permission: "user",
    run: async (ctx, [n]) => {
      const r = await files(ctx).reject(number(n));
      ctx.print(`Refused ${sanitize(r.name)} from ${sanitizeName(r.peer)}`);
    },
  },
  {
    name: "files",
    usage: "",
    help: "List file offers and transfers with their state",
    permission: "user",
    run: async (ctx) => {
      const list = await files(ctx).list();
      if (!list.length) return ctx.print("No file offers or transfers");
      for (const e of list) {
        const who = e.direction === "in" ? `from ${sanitizeName(e.peer)}` : `to ${sanitizeName(e.peer)}`;
        const hint = e.w !== undefined && files(ctx).withdraw ? `  (/withdraw ${e.w})` : "";
        const when = e.at === undefined ? "" : `  ${whenText(ctx, e.at)}`;
        ctx.print(
          `  ${e.n !== undefined ? String(e.n).padStart(2) : " -"}  ${e.direction === "in" ? "↓" : "↑"} ${
            sanitize(e.name)
          }  ${sizeText(e.size)}  ${who}${when}  ${e.state}${hint}`,
        );
      }
    },
  },
  {
    name: "withdraw",
    usage: "N",
    help: "Take back file N you sent (as /files numbers them) before its recipient has it; they are told",
    permission: "user",
    run: async (ctx, [n]) => {
      const f = files(ctx);
      if (!f.withdraw) throw new Error("Sent files cannot be withdrawn here");
      const r = await f.withdraw(number(n, "a sent file")!);
      ctx.print(`Withdrew ${sanitize(r.name)} from ${sanitizeName(r.peer)}: they cannot take it now`);
    },
  },
];
