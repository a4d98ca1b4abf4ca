/**
 * `/search TEXT` (the command table includes it, commands.ts): the messages this client keeps, in
 * every conversation, whose text holds every word of TEXT (the backend's `local.search`,
 * local_store_search.ts). The newest SEARCH_LIMIT matches are printed in the current buffer, one line
 * each with its day and time, conversation and sender, oldest first, after a line saying how many
 * messages were searched and since when. Ctrl-F searches the scrollback of the buffer on screen.
 * The matches are numbered: `/goto N` goes to match N in its conversation (loaded from its time on)
 * and selects it (select.ts). `/clear` empties that scrollback (what is kept stays: `/history`
 * shows it again). `/buffer N|NAME` (also `/window`) goes to buffer N of the list, or to the one
 * whose name is NAME or the only one that starts with it (where Alt+1…0 cannot reach); `/buffer move N`
 * gives the current one number N, kept in the client folder (buffer_list.ts).
 */
import { sanitize } from "../../common/sanitize.ts";
import type { ChatMessage, SearchResult } from "../backend.ts";
import type { CommandContext, CommandSpec } from "./command_context.ts";
import { dayOf, targetText, whenText } from "./command_context.ts";
import { counted } from "../../common/words.ts";
import { saidBy } from "../core/action.ts";
import { conversationOf } from "../session/wire_events.ts";
import { withoutHash } from "../../protocol/names.ts";

/** The index of the buffer `/buffer` names among `labels` (a number from 1, a name, the start of one), or why none. */
export function bufferIndex(labels: readonly string[], arg: string): number | string {
  if (/^\d+$/.test(arg)) {
    const n = Number(arg);
    return n >= 1 && n <= labels.length ? n - 1 : `There is no buffer ${arg}: the list has ${labels.length}`;
  }
  const q = arg.toLowerCase().replace(/^@/, ""), lower = labels.map((l) => l.toLowerCase());
  const exact = lower.indexOf(q);
  if (exact >= 0) return exact;
  if (lower.includes(`#${q}`)) return lower.indexOf(`#${q}`);
  // "#d" looks among rooms only; "d" among every name, the rooms' without their "#".
  const starts = (l: string) => q.startsWith("#") ? l.startsWith(q) : withoutHash(l).startsWith(q);
  const some = lower.flatMap((l, i) => starts(l) ? [i] : []);
  if (some.length === 1) return some[0]!;
  const said = sanitize(arg);
  return some.length
    ? `"${said}" starts ${some.map((i) => sanitize(labels[i]!)).join(", ")}: say which`
    : `No open buffer is named "${said}" (/join #ROOM or /query USER opens one)`;
}

/** `/buffer move N`: the current buffer becomes number N (2 to the list's length; 1 is the status buffer). */
function moveBuffer(ctx: CommandContext, n: string | undefined): void {
  const count = ctx.bufferLabels!().length;
  if (!ctx.moveBuffer || ctx.target === null) throw new Error("The status buffer stays number 1");
  if (n === undefined || !/^\d+$/.test(n) || Number(n) < 2 || Number(n) > count) {
    throw new Error(`Say which number: /buffer move N, N from 2 to ${count}`);
  }
  ctx.moveBuffer(Number(n));
}

/** Matches `/search` prints at most (the newest). */
export const SEARCH_LIMIT = 30;

/** Match `n`: its day (unless today), time, room (or whom a DM of mine went to), sender, text on one line. */
function matchLine(ctx: CommandContext, m: ChatMessage, n: number): string {
  const mine = m.to.kind === "user" && m.from === ctx.backend.user;
  const where = m.to.kind !== "user" ? `${targetText(m.to)} ` : mine ? `→ ${m.to.name} ` : "";
  const text = sanitize(m.text.replace(/\s*\n\s*/g, " ⏎ "));
  return `  ${n}. ${whenText(ctx, m.ts)} ${where}${saidBy(m.from, text)}`;
}

/** The head line: how many matched, of how much history, from when. */
function headLine(q: string, r: SearchResult): string {
  const since = r.oldest === undefined ? "" : `, since ${dayOf(r.oldest)}`;
  const kept = `${counted(r.searched, "message")} kept here${since}`;
  if (!r.matches.length) return `Nothing matches "${sanitize(q)}" in the ${kept}`;
  const go = "/goto N shows one";
  if (r.more) return `"${sanitize(q)}": the newest ${r.matches.length} matches (more words narrow it; ${go})`;
  return `"${sanitize(q)}": ${counted(r.matches.length, "message")} of the ${kept} (${go})`;
}

export const SEARCH_COMMANDS: readonly CommandSpec[] = [
  {
    name: "search",
    usage: "TEXT",
    help:
      "Find messages in every conversation whose text holds every word of TEXT, each at a word's start (Ctrl-F: this buffer)",
    permission: "user",
    run: async (ctx, [text]) => {
      if (!ctx.backend.local) throw new Error("This client keeps no history to search");
      if (!text?.trim()) throw new Error("Say what to look for: /search WORDS");
      const r = await ctx.backend.local.search({ text, limit: SEARCH_LIMIT });
      ctx.found = r.matches;
      ctx.print(headLine(text, r));
      r.matches.forEach((m, i) => ctx.print(matchLine(ctx, m, i + 1)));
    },
  },
  {
    name: "goto",
    usage: "N",
    help: "Show match N of the last /search in its conversation, selected (r replies to it, Esc leaves)",
    permission: "user",
    run: async (ctx, [n]) => {
      const found = ctx.found ?? [];
      if (!found.length) throw new Error("Nothing to go to yet: /search WORDS first, then /goto N");
      const i = Number(n);
      if (!Number.isInteger(i) || i < 1 || i > found.length) {
        throw new Error(`"${sanitize(n!)}" is not a match number: 1 to ${found.length} (see /search)`);
      }
      const m = found[i - 1]!;
      // Its conversation from that message on, so that it shows with what followed it.
      const after = await ctx.backend.history(conversationOf(ctx.backend.user, m), m.ts).catch(() => []);
      await ctx.addMessages([m, ...after]);
      if (!(await ctx.showMessage?.(m))) {
        throw new Error("That message is not here any more (deleted, or its disappearing time is up)");
      }
    },
  },
  {
    name: "clear",
    usage: "",
    help: "Empty this buffer's screen (its history is kept: /history shows it again)",
    permission: "user",
    run: (ctx) => {
      if (!ctx.clearCurrent) throw new Error("This screen cannot be cleared");
      ctx.clearCurrent();
    },
  },
  {
    name: "buffer",
    aliases: ["window", "win"],
    usage: "N|NAME|move [N]",
    help:
      "Go to buffer N of the list, or to the one named NAME (#dev, bob) or whose name starts so; move N gives this buffer number N (kept across restarts)",
    permission: "user",
    run: (ctx, [arg, n]) => {
      if (!ctx.bufferLabels || !ctx.showBuffer) throw new Error("This screen has no buffer list");
      if (arg === "move") return moveBuffer(ctx, n);
      if (n !== undefined) throw new Error(`Usage: /buffer N|NAME, or /buffer move N`);
      const i = bufferIndex(ctx.bufferLabels(), arg!);
      if (typeof i === "string") throw new Error(i);
      ctx.showBuffer(i);
    },
  },
];
