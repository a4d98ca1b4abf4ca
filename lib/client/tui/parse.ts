/**
 * What an input line means. Pure.
 *
 * Contract: `parseLine` classifies one submitted line as
 * - `empty` (blank),
 * - `text` to the current conversation (also `//text`, which sends `/text`),
 * - `dm` for the shorthand `USER: text` or `USER:text` — only in the status buffer (not `inConversation`),
 *   only when USER is a known user (someone online, a room member or an open query, as told by
 *   `isUser`) and text is not empty, so "note: buy milk" stays ordinary text; in a room or query
 *   `nick: text` is text to that conversation addressing the nick (the IRC habit, and what nick
 *   completion at line start produces),
 * - `command` with arguments already split and checked against the table's usage and permission,
 * - `error` for an unknown command (one of the full table missing from a narrower table, peer mode's,
 *   is said to need a server: /watch-together, /join, …), a wrong argument count or a missing
 *   permission; such a line is never sent as text.
 */
import type { ArgKind } from "./completion.ts";
import type { Role } from "../backend.ts";
import { COMMANDS, type CommandSpec } from "./commands.ts";
import { HELP_HEAD } from "./command_context.ts";
import { splitUsage } from "../../common/usage.ts";
import { KEYS } from "./key_table.ts";

export type Parsed =
  | { kind: "empty" }
  | { kind: "text"; text: string }
  | { kind: "dm"; user: string; text: string }
  | { kind: "command"; spec: CommandSpec; args: string[] }
  | { kind: "error"; message: string };

export interface ParseOptions {
  role: Role;
  isUser(name: string): boolean;
  /** True when the line was typed in a room or query buffer: `nick: text` then stays text. */
  inConversation?: boolean;
  commands?: readonly CommandSpec[];
}

// The usage grammar (arity, the rest word) lives in lib/common/usage.ts, shared with the server console.
export { arity } from "../../common/usage.ts";

/**
 * What argument `index` of a command takes, from its usage: USER (or USER|#ROOM) → "user", #ROOM →
 * "room", #ROOM|@USER → "conv", VIDEO → "video", FILE or a PATH choice (ID|PATH) → "path".
 */
export function argKind(spec: CommandSpec, index: number): ArgKind | null {
  const toks = spec.usage.split(/\s+/).filter(Boolean);
  const last = toks[toks.length - 1] ?? "";
  const tok = toks[index] ?? (last.endsWith("…") || last.endsWith("…]") ? last : "");
  const bare = tok.replace(/[\[\]…]/g, "");
  const choices = bare.split("|");
  if (choices.includes("USER")) return "user";
  if (choices.includes("@USER")) return "conv";
  if (bare === "#ROOM") return "room";
  if (bare === "VIDEO") return "video";
  return /(^|\|)PATH$/.test(bare) || bare === "FILE" ? "path" : null;
}

/** Finds a command by name or alias, case-insensitively. */
export function findCommand(
  name: string,
  commands: readonly CommandSpec[] = COMMANDS,
): CommandSpec | undefined {
  const n = name.toLowerCase();
  return commands.find((c) => c.name === n || c.aliases?.includes(n));
}

const USER_NAME = /^([A-Za-z0-9_.-]{1,32}):\s?([\s\S]*)$/;

export function parseLine(line: string, opts: ParseOptions): Parsed {
  const commands = opts.commands ?? COMMANDS;
  if (line.trim() === "") return { kind: "empty" };
  if (line.startsWith("//")) return { kind: "text", text: line.slice(1) };
  if (line.startsWith("/")) {
    const m = /^\/(\S*)\s*([\s\S]*)$/.exec(line)!;
    const spec = findCommand(m[1]!, commands);
    if (!spec) {
      // A command of the full table left out of a narrower one (peer mode's) is one that needs a server.
      const full = commands !== COMMANDS ? findCommand(m[1]!, COMMANDS) : undefined;
      if (full) {
        return {
          kind: "error",
          message: `/${full.name} needs a server; peer mode has none (type /help for what works here)`,
        };
      }
      return {
        kind: "error",
        message: `Unknown command /${m[1]} (type /help for the list, //text to send text)`,
      };
    }
    if (spec.permission === "admin" && opts.role !== "admin") {
      const hint = spec.refusedHint ? ` (${spec.refusedHint})` : "";
      return { kind: "error", message: `/${spec.name} needs admin rights${hint}` };
    }
    const args = splitUsage(spec.usage, m[2]!);
    if (!args) return { kind: "error", message: `Usage: /${spec.name} ${spec.usage}`.trimEnd() };
    const hint = spec.aliasHints?.[m[1]!];
    if (hint === undefined) return { kind: "command", spec, args };
    const run = (ctx: Parameters<CommandSpec["run"]>[0], a: string[]) => (ctx.print(hint), spec.run(ctx, a));
    return { kind: "command", spec: { ...spec, run }, args };
  }
  const dm = opts.inConversation ? null : USER_NAME.exec(line);
  if (dm && dm[2]!.trim() !== "" && opts.isUser(dm[1]!)) {
    return { kind: "dm", user: dm[1]!, text: dm[2]! };
  }
  return { kind: "text", text: line };
}

/** What @ before a nick means, in the nick list and `/names` alike (issue 71.18): said at /help's end. */
export const AT_MEANS =
  "@NICK (nick list, /names): an admin of that room; a server admin is (admin) in /who and /whois";

/**
 * `/help` text: the whole table, ending with how to read it (the screen shows its end); one command;
 * or the keys (key_table.ts, `/help keys`).
 */
export function helpLines(role: Role, cmd?: string, commands: readonly CommandSpec[] = COMMANDS): string[] {
  const keys = ["Keys:", ...KEYS.map(([k, d]) => `  ${k.padEnd(HELP_HEAD)} ${d}`)];
  if (cmd === "keys") return keys;
  if (cmd) {
    const spec = findCommand(cmd.replace(/^\//, ""), commands);
    if (!spec) return [`Unknown command /${cmd.replace(/^\//, "")}`];
    const al = spec.aliases?.length ? ` (also ${spec.aliases.map((a) => "/" + a).join(", ")})` : "";
    const adm = spec.permission === "admin" ? " [admin]" : "";
    return [`/${spec.name} ${spec.usage}`.trimEnd() + al + adm, "  " + spec.help, ...spec.details?.() ?? []];
  }
  const lines = ["Commands (/help COMMAND for details; USER: text sends a private message):"];
  for (const c of commands) {
    if (c.permission === "admin" && role !== "admin") continue;
    const head = `/${c.name} ${c.usage}`.trimEnd();
    const also = c.aliases?.length ? ` (also ${c.aliases.map((x) => "/" + x).join(", ")})` : "";
    // A command longer than its column puts its help on the next row, in the column (issue 71.21).
    lines.push(`  ${head.length > HELP_HEAD ? `${head}\n` : head.padEnd(HELP_HEAD + 1)}${c.help}${also}`);
  }
  // What the screen shows is the list's end: say there how to read the rest.
  return [
    ...lines,
    `  ${AT_MEANS}`,
    `${
      lines.length - 1
    } commands, from the top (PgUp); /help COMMAND explains one, /help keys lists the keys`,
  ];
}
