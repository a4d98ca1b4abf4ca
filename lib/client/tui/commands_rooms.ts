/**
 * The room rows of the command table (`COMMANDS` in commands.ts includes them, in this order):
 * `/join` (an open room by oneself: commands_open_rooms.ts), `/part`, `/room create|kick|open|close`,
 * `/invite`, `/names` (a room's members, its admins and who is online), `/rooms` (one's rooms, with
 * their topics, then the server's open rooms), `/topic` (shows, sets or clears a room's topic,
 * end to end: the rooms capability's optional `topic` / `setTopic`). Handlers use the backend's
 * rooms capability (asked through `capability`) and print through the `CommandContext`; they never
 * touch the terminal.
 */
import { ago, type CommandContext, type CommandSpec, needRoom, user } from "./command_context.ts";
import type { RoomControls, RoomInfo, Target } from "../backend.ts";
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import { counted } from "../../common/words.ts";
import { refuseTwinRoom } from "../core/room_twin.ts";
import { normalizeName, withoutHash } from "../../protocol/names.ts";
import { BackendError, capability } from "../backend.ts";
import { joinOpen, openOrClose, printOpenRooms } from "./commands_open_rooms.ts";

/** One of my rooms by name, or why not. */
async function myRoom(ctx: CommandContext, name: string): Promise<RoomInfo> {
  const room = (await capability(ctx.backend, "rooms").list()).find((x) => x.name === name);
  if (!room) throw new Error(`You are not a member of #${sanitizeName(name)} (/rooms lists yours)`);
  return room;
}

/** A room name as typed ("#Dev", "dev") as rooms are named (lower case, no "#"). */
const roomName = (arg: string): string => normalizeName(withoutHash(arg)) ?? withoutHash(arg);

/** `#room` (any case) as a target, when it is one of my rooms: its buffer opens, not focused (`/msg #ROOM`). */
export async function roomTarget(ctx: CommandContext, arg: string): Promise<Target> {
  const name = (await myRoom(ctx, roomName(arg))).name;
  const t: Target = { kind: "room", name };
  ctx.open(t, false);
  return t;
}

/**
 * The room and the text of `/topic [#ROOM] [TEXT]` and `/part`: a first word "#…" names a room when it
 * stands alone, is one of mine, or no room is on screen; else it starts the text ("/topic #1 priority").
 */
function roomAndText(
  ctx: CommandContext,
  mine: RoomInfo[],
  r?: string,
  rest?: string,
): [string, string | undefined] {
  const named = r?.startsWith("#") &&
    (!rest || mine.some((x) => x.name === roomName(r)) || ctx.target?.kind !== "room");
  return [
    roomName(named ? r! : needRoom(ctx)),
    (named ? rest : [r, rest].filter(Boolean).join(" ")) || undefined,
  ];
}

/**
 * A part or quit message, IRC's (`/part TEXT`, `/quit TEXT`): sent to the room end to end, on screen at
 * once, and taken by the server before the room is left or Parley quits (a text still waiting in the
 * outbox could no longer be sealed for a room once left): offline, it says so and what stays (`still`).
 */
export async function leavingMessage(
  ctx: CommandContext,
  room: string,
  text: string,
  still: string,
): Promise<void> {
  const m = await ctx.backend.send({ kind: "room", name: room }, text);
  void ctx.addMessages([m]);
  if (m.seq <= 0) throw new Error(`Not connected: your message waits in the outbox and ${still}`);
}

/** What `/topic` and `/rooms` say of room `name`'s topic: "" when it has none or topics are not offered. */
async function topicOf(rooms: RoomControls, name: string, now: number): Promise<string> {
  const t = await rooms.topic?.(name);
  return t ? `${sanitize(t.text)} (set by ${sanitizeName(t.by)}, ${ago(now, t.at)} ago)` : "";
}

/** `/join`, `/part`, `/room`, `/invite`, `/names`, `/rooms`, `/topic`. */
export const ROOM_COMMANDS: readonly CommandSpec[] = [
  {
    name: "join",
    aliases: ["j"],
    usage: "#ROOM",
    help: "Switch to a room you belong to, or join an open room (/list shows them) by yourself",
    permission: "user",
    run: async (ctx, [r]) => {
      const name = roomName(r!);
      const rooms = capability(ctx.backend, "rooms");
      if ((await rooms.list()).some((x) => x.name === name)) {
        // one of mine: switch to it
      } else if (rooms.join) return await joinOpen(ctx, rooms, name);
      else {
        // Only one's own rooms are listed: the server's refusal of its history says whether it exists.
        const e = await ctx.backend.history({ kind: "room", name }, ctx.now()).then(() => null, (e) => e);
        if (e instanceof BackendError && e.code === "no_such_room") {
          throw new Error(`There is no room named #${name} (/room create ${name} USER… makes one)`);
        }
        throw new Error(`You are not a member of #${name}; ask a member to /invite you`);
      }
      ctx.open({ kind: "room", name }, true);
    },
  },
  {
    name: "part",
    aliases: ["leave", "close"],
    usage: "[#ROOM] [TEXT]",
    help:
      "Leave a room (or close a private conversation); with TEXT, say it to the room first, end to end, as IRC's part message",
    permission: "user",
    run: async (ctx, [r, rest]) => {
      if (!r && ctx.target?.kind === "user") return ctx.closeCurrent();
      const rooms = capability(ctx.backend, "rooms");
      const mine = r ? await rooms.list() : [];
      // "/part dev" (one of my rooms, alone) leaves #dev, as before part messages.
      const bare = r && !rest && !r.startsWith("#") && mine.some((x) => x.name === roomName(r));
      const [name, text] = bare ? [roomName(r), undefined] : roomAndText(ctx, mine, r, rest);
      const still = `you are still in #${sanitizeName(name)} (/part alone leaves once it is sent)`;
      if (text !== undefined) await leavingMessage(ctx, name, text, still);
      await rooms.leave(name);
      if (ctx.target?.kind === "room" && ctx.target.name === name) ctx.closeCurrent();
    },
  },
  {
    name: "room",
    usage: "create|kick|open|close NAME [USER…|TEXT…]",
    help:
      "Create a room (--open: anyone may /join it; --new: even if one for the same people exists), remove a member (admins; keys change), open one with TEXT as its PUBLIC description (not encrypted, unlike /topic; admins), or close it",
    permission: "user",
    run: async (ctx, [sub, name, rest]) => {
      const rooms = capability(ctx.backend, "rooms");
      if (sub === "open" || sub === "close") {
        if (sub === "close" && rest) throw new Error("Usage: /room close NAME");
        return await openOrClose(ctx, rooms, sub, roomName(name!), rest);
      }
      const words = [name!, ...(rest ?? "").split(/\s+/)].filter(Boolean);
      const [room, ...members] = words.filter((w) => w !== "--new" && w !== "--open").map(user);
      if (sub === "kick") {
        if (members.length !== 1) throw new Error("Usage: /room kick NAME USER");
        await rooms.kick(withoutHash(room!), members[0]!);
        return ctx.print(`Removed ${members[0]} from #${withoutHash(room!)}`);
      }
      if (sub !== "create" || !room) {
        throw new Error(
          "Usage: /room create [--open] NAME [USER…], /room kick NAME USER, /room open|close NAME",
        );
      }
      if (!words.includes("--new")) {
        refuseTwinRoom(await rooms.list(), ctx.backend.user, members, "add --new");
      }
      const info = await rooms.create(withoutHash(room), members);
      ctx.open({ kind: "room", name: info.name }, true);
      ctx.print(`Room #${info.name} created with ${info.members.join(", ")}`);
      if (words.includes("--open")) await openOrClose(ctx, rooms, "open", info.name);
    },
  },
  {
    name: "invite",
    usage: "USER [#ROOM]",
    help: "Invite a user into the current room",
    permission: "user",
    run: async (ctx, [u, r]) => {
      const name = needRoom(ctx, r);
      await capability(ctx.backend, "rooms").invite(name, user(u!));
      ctx.print(`Invited ${user(u!)} to #${name}`);
    },
  },
  {
    name: "names",
    aliases: ["members"],
    usage: "[#ROOM]",
    help: "The members of this room (or #ROOM), @ before its admins, and who of them is online",
    permission: "user",
    run: async (ctx, [r]) => {
      const room = await myRoom(ctx, needRoom(ctx, r));
      const online = new Set((await ctx.backend.who()).map((p) => p.user));
      const names = room.members.map((m) =>
        `${room.admins.includes(m) ? "@" : ""}${sanitizeName(m)}${online.has(m) ? " (online)" : ""}`
      );
      ctx.print(`#${sanitizeName(room.name)}: ${counted(names.length, "member")}: ${names.join(", ")}`);
    },
  },
  {
    name: "rooms",
    aliases: ["list"],
    usage: "",
    help:
      "The rooms you are a member of, with their members, then the server's open rooms you may /join, with their member counts and public descriptions",
    permission: "user",
    run: async (ctx) => {
      const ctl = capability(ctx.backend, "rooms"), rooms = await ctl.list();
      if (!rooms.length) ctx.print("You are in no room yet (/room create NAME USER… makes one)");
      else ctx.print(`You are in ${counted(rooms.length, "room")} (/join #ROOM goes there):`);
      for (const x of rooms) {
        ctx.print(
          `  #${sanitizeName(x.name)}${x.open ? " (open)" : ""}: ${x.members.map(sanitizeName).join(", ")}`,
        );
        const t = await topicOf(ctl, x.name, ctx.now());
        if (t) ctx.print(`    topic: ${t}`);
        if (x.description) ctx.print(`    public description: ${sanitize(x.description)}`);
      }
      await printOpenRooms(ctx, ctl);
    },
  },
  {
    name: "topic",
    usage: "[#ROOM] [TEXT]",
    help:
      "Show this room's topic (or #ROOM's); with TEXT set it for every member (end to end, shown in the title bar; Tab after /topic brings the current one to edit); /topic -delete clears it",
    permission: "user",
    run: async (ctx, [r, rest]) => {
      const rooms = capability(ctx.backend, "rooms");
      if (!rooms.topic || !rooms.setTopic) {
        throw new Error("Room topics need end-to-end keys (a client folder)");
      }
      const mine = await rooms.list();
      const [name, text] = roomAndText(ctx, mine, r, rest);
      if (!mine.some((x) => x.name === name)) {
        throw new Error(`You are not a member of #${sanitizeName(name)} (/rooms lists yours)`);
      }
      if (text === undefined) {
        const t = await topicOf(rooms, name, ctx.now());
        return ctx.print(
          `#${sanitizeName(name)} ${t ? `topic: ${t}` : "has no topic (/topic TEXT sets one)"}`,
        );
      }
      if (text === "-delete" && !(await rooms.topic(name))) {
        return ctx.print(`#${sanitizeName(name)} has no topic to clear`);
      }
      void ctx.addMessages([await rooms.setTopic(name, text === "-delete" ? "" : text)]);
    },
  },
];
