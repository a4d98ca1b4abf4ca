/**
 * `/block USER` (also `/ignore`), `/unblock USER`, `/blocked`: the users this client blocked (the
 * backend's `blocks` capability, lib/client/e2e/blocks.ts). What a blocked user sends — messages,
 * reactions, files, streams, typing — is dropped unseen and they are not told; messages to them are
 * refused. The account's other devices follow (e2e/blocks.ts).
 */
import { capability } from "../backend.ts";
import { blockedError } from "../e2e/mod.ts";
import { sanitizeName } from "../../common/sanitize.ts";
import type { CommandContext, CommandSpec } from "./command_context.ts";
import { normalizeName } from "../../protocol/names.ts";
import { user } from "./command_context.ts";

/** The names, or that there are none. */
const listText = (names: string[]) =>
  names.length ? `Blocked here: ${names.map(sanitizeName).join(", ")}` : "Nobody is blocked here";

/** Whether this client blocked `name` (false where it keeps no block list). */
async function blockedHere(ctx: CommandContext, name: string): Promise<boolean> {
  const list: string[] = await ctx.backend.blocks?.list().catch(() => []) ?? [];
  return list.includes(normalizeName(name) ?? name);
}

/** " (blocked here: /unblock)" after what `/whois` says of `name` when this client blocked them, else "". */
export async function blockedNote(ctx: CommandContext, name: string): Promise<string> {
  return await blockedHere(ctx, name) ? " (blocked here: /unblock)" : "";
}

/** Refuses to write to USER `u` when this client blocked them, before a buffer opens for them (`/msg`, `/query … TEXT`). */
export async function refuseBlockedHere(ctx: CommandContext, u: string): Promise<void> {
  const name = normalizeName(user(u)) ?? user(u);
  if (await blockedHere(ctx, name)) throw blockedError(sanitizeName(name));
}

export const BLOCK_COMMANDS: readonly CommandSpec[] = [
  {
    name: "block",
    aliases: ["ignore"],
    usage: "USER",
    help:
      "Drop everything USER sends you here — messages, room lines, files, streams, typing — without telling them; /unblock undoes it",
    permission: "user",
    run: async (ctx, [u]) => {
      const blocks = capability(ctx.backend, "blocks");
      const name = normalizeName(user(u!)) ?? user(u!);
      const before = await blocks.list();
      const after = await blocks.block(name);
      const who = sanitizeName(name);
      if (after.length === before.length) return ctx.print(`${who} is blocked already (/blocked lists them)`);
      ctx.print(
        `Blocked ${who}: what they send is dropped here, unseen, and they are not told ` +
          `(your other devices follow); /unblock ${who} undoes it`,
      );
    },
  },
  {
    name: "unblock",
    aliases: ["unignore"],
    usage: "USER",
    help:
      "Take USER off your block list: what they send from now on arrives (what they sent meanwhile is gone)",
    permission: "user",
    run: async (ctx, [u]) => {
      const name = user(u!);
      await capability(ctx.backend, "blocks").unblock(name);
      ctx.print(`Unblocked ${sanitizeName(name)}: what they send from now on arrives`);
    },
  },
  {
    name: "blocked",
    usage: "",
    help: "List the users you blocked here",
    permission: "user",
    run: async (ctx) => ctx.print(listText(await capability(ctx.backend, "blocks").list())),
  },
];
