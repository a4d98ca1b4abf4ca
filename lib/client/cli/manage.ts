/**
 * Scripted subcommands for rooms, encryption trust and moderation (part of the fixed contract of
 * lib/client/cli/main.ts): `room create|invite|leave|kick|list|topic|join|open|close` (`join`, `open`,
 * `close`, `create --open` and `list --open`: open rooms, issue 71.12; create refuses a second room
 * for the same people without `--new`, see core/room_twin.ts; `topic` added in 0.19; `invite` sends
 * the room's topic and disappearing time on), `fingerprint`, `verify`, `trust`, `block`, `unblock`,
 * `blocked` (added in 0.17), `admin kick|kicked|invite|grant|revoke`.
 */
import { safeJson, sanitize } from "../../common/sanitize.ts";
import { counted } from "../../common/words.ts";
import type { Command } from "commander";
import { BackendError, capability } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { CliIo, WithClient } from "./io.ts";
import { refuseTwinRoom } from "../core/room_twin.ts";
import { withoutHash } from "../../protocol/names.ts";
import { isoSeconds, parseDuration } from "../../common/parse_time.ts";

/** Registers `room …`, `fingerprint`, `verify`, `trust` and `admin …` on the program, in this order. */
export function registerManageCommands(program: Command, io: CliIo, withClient: WithClient): void {
  registerRoomCommands(program, io, withClient);
  registerKeyCommands(program, io, withClient);
  registerAdminCommands(program, io, withClient);
}

/** `room create|invite|leave|kick|list|topic`. */
function registerRoomCommands(program: Command, io: CliIo, withClient: WithClient): void {
  const room = program.command("room").description("rooms: create, invite, leave, list")
    .addHelpText("after", "\nExamples:\n  parley room create dev bob carol\n  parley room list");
  room.command("create").argument("<name>").argument("[members...]").description("create a room with members")
    .option("--new", "create it even when a room with exactly these members exists")
    .option("--open", "make it open: anyone on the server may join it by themself (room open)")
    .option("--description <text>", "with --open: its PUBLIC description (not encrypted)")
    .addHelpText(
      "after",
      "\nExamples:\n  parley room create dev bob carol\n  parley room create '#ops' dave\n  parley room create standup bob carol --new\n  parley room create lobby --open --description 'Say hello'",
    )
    .action(withClient(async (c, o, a) => {
      if (o.description !== undefined && !o.open) {
        throw new BackendError("usage", "--description needs --open");
      }
      if (o.description !== undefined) await checkDescription(String(o.description));
      if (!o.new) refuseTwinRoom(await c.rooms.list(), c.user, a.slice(1), "add --new");
      const r = await c.rooms.create(withoutHash(a[0]!), a.slice(1));
      io.out(`Created #${r.name} with ${r.members.join(", ")}`);
      if (o.open) await openOrClose(io, c, r.name, true, o.description as string | undefined);
    }));
  room.command("invite").argument("<name>").argument("<user>").description(
    "add a user to a room (room admins)",
  )
    .addHelpText("after", "\nExamples:\n  parley room invite dev erin")
    .action(withClient(async (c, _o, a) => {
      const name = withoutHash(a[0]!);
      await c.sync(); // the newest topic first: it follows them (core/room_topics.ts)
      await c.rooms.invite(name, a[1]!);
      io.out(`Invited ${a[1]} to #${name}`);
    }));
  room.command("leave").argument("<name>").description("leave a room")
    .addHelpText("after", "\nExamples:\n  parley room leave dev")
    .action(withClient(async (c, _o, a) => {
      const name = withoutHash(a[0]!);
      await c.rooms.leave(name);
      io.out(`Left #${name}`);
    }));
  room.command("kick").argument("<name>").argument("<user>").description(
    "remove a member from a room (room admins); the room's keys change",
  )
    .addHelpText("after", "\nExamples:\n  parley room kick dev erin")
    .action(withClient(async (c, _o, a) => {
      const name = withoutHash(a[0]!);
      await c.rooms.kick(name, a[1]!);
      io.out(`Removed ${a[1]} from #${name}`);
    }));
  room.command("list").description("rooms you are in; --open: the server's open rooms").option(
    "--json",
    "print JSON",
  )
    .option("--open", "the server's open rooms, members or not: member count and public description")
    .addHelpText(
      "after",
      "\nExamples:\n  parley room list\n  parley room list --json\n  parley room list --open",
    )
    .action(withClient(async (c, o) => {
      if (o.open) return await listOpen(io, c, o.json === true);
      const rs = await c.rooms.list();
      if (o.json) {
        await c.sync(); // topics set meanwhile arrive with the queue
        const topics = await Promise.all(rs.map((r) => c.rooms.topic?.(r.name) ?? null));
        return io.out(safeJson(rs.map((r, i) => topics[i] ? { ...r, topic: topics[i] } : r)));
      }
      if (!rs.length) io.err("You are in no rooms");
      for (const r of rs) {
        io.out(`#${r.name}: ${r.members.map((m) => (r.admins.includes(m) ? `@${m}` : m)).join(" ")}`);
      }
    }));
  registerTopicCommand(room, io, withClient);
  registerOpenRoomCommands(room, io, withClient);
}

/** Refuses a public description the server would refuse, before anything is signed or sent. */
async function checkDescription(text: string): Promise<void> {
  // The request schemas (valibot) load only here, not with the command table.
  const { ROOM_DESCRIPTION_MAX } = await import("../../protocol/messages.ts");
  if ([...text].length > ROOM_DESCRIPTION_MAX) {
    throw new BackendError(
      "usage",
      `A room description is at most ${ROOM_DESCRIPTION_MAX} characters (it is public, not encrypted)`,
    );
  }
}

/** Opens or closes room `name` (and sets its public description), saying what it is now. */
async function openOrClose(io: CliIo, c: ChatClient, name: string, open: boolean, description?: string) {
  const r = await c.rooms.setPublic(name, {
    open,
    ...(description !== undefined ? { description } : {}),
  });
  if (!r.open) return io.out(`Closed #${name}: members stay; nobody joins by themself`);
  io.out(
    `Opened #${name}: anyone on this server may join it${
      r.description ? ` (public description: ${r.description})` : ""
    }`,
  );
}

/** `room list --open`: one line per open room, "#NAME (N members[, joined])[: DESCRIPTION]". */
async function listOpen(io: CliIo, c: ChatClient, json: boolean): Promise<void> {
  const rs = await c.rooms.openRooms();
  if (json) return io.out(safeJson(rs));
  if (!rs.length) io.err("No open rooms on this server");
  for (const r of rs) {
    const about = r.description ? `: ${sanitize(r.description)}` : "";
    io.out(`#${r.name} (${counted(r.members, "member")}${r.member ? ", joined" : ""})${about}`);
  }
}

/** `room join NAME`, `room open NAME [--description TEXT]`, `room close NAME` (open rooms, issue 71.12). */
function registerOpenRoomCommands(room: Command, io: CliIo, withClient: WithClient): void {
  room.command("join").argument("<name>").description(
    "join an open room by yourself (you read what is sent from then on)",
  )
    .addHelpText("after", "\nExamples:\n  parley room list --open\n  parley room join lobby")
    .action(withClient(async (c, _o, a) => {
      const r = await c.rooms.join(withoutHash(a[0]!));
      io.out(`Joined #${r.name} with ${r.members.join(", ")}`);
    }));
  room.command("open").argument("<name>").description(
    "let anyone on the server join a room (room admins); --description sets its PUBLIC description (not encrypted)",
  )
    .option("--description <text>", 'the public description ("" clears it)')
    .addHelpText("after", "\nExamples:\n  parley room open lobby --description 'Questions welcome'")
    .action(withClient(async (c, o, a) => {
      if (o.description !== undefined) await checkDescription(String(o.description));
      await openOrClose(io, c, withoutHash(a[0]!), true, o.description as string | undefined);
    }));
  room.command("close").argument("<name>").description(
    "stop anyone joining a room by themself (room admins); its members stay",
  )
    .addHelpText("after", "\nExamples:\n  parley room close lobby")
    .action(withClient(async (c, _o, a) => await openOrClose(io, c, withoutHash(a[0]!), false)));
}

/** `room topic NAME [TEXT…] [--clear] [--json]`: shows, sets or clears a room's topic (end to end). */
function registerTopicCommand(room: Command, io: CliIo, withClient: WithClient): void {
  room.command("topic").argument("<name>").argument("[text...]").description(
    "show a room's topic, or set it for every member (end to end; --clear removes it)",
  )
    .option("--clear", "remove the topic").option("--json", "print JSON (when showing)")
    .addHelpText(
      "after",
      "\nExamples:\n  parley room topic dev\n  parley room topic dev 'Release on Friday'\n  parley room topic dev --clear",
    )
    .action(withClient(async (c, o, a) => {
      const name = withoutHash(a[0]!), text = a.slice(1).join(" ");
      if (!c.rooms.topic || !c.rooms.setTopic) {
        throw new BackendError("no_keys", "Room topics need end-to-end keys (a client folder)");
      }
      if (!(await c.rooms.list()).some((r) => r.name === name)) {
        throw new BackendError(
          "not_member",
          `You are not a member of #${name} (parley room list lists yours)`,
        );
      }
      if (o.clear && text) throw new BackendError("usage", "Give a topic or --clear, not both");
      if (!o.clear && !text) {
        await c.sync(); // a topic set meanwhile arrives with the queue
        const t = await c.rooms.topic(name);
        if (o.json) return io.out(safeJson({ room: name, topic: t }));
        return io.out(
          t ? `#${name} topic: ${t.text} (set by ${t.by}, ${isoSeconds(t.at)})` : `#${name} has no topic`,
        );
      }
      await c.rooms.setTopic(name, o.clear ? "" : text);
      io.out(o.clear ? `Cleared the topic of #${name}` : `Set the topic of #${name}: ${text}`);
    }));
}

/** `fingerprint [USER]`, `verify USER [NUMBER…]`, `trust USER [NUMBER…]`. */
function registerKeyCommands(program: Command, io: CliIo, withClient: WithClient): void {
  program.command("fingerprint").argument("[user]").description(
    "your key's fingerprint, or the safety number you share with USER",
  )
    .addHelpText("after", "\nExamples:\n  parley fingerprint\n  parley fingerprint bob")
    .action(withClient(async (c, _o, a) => {
      const f = await c.fingerprint(a[0]);
      if (!a[0]) return io.out(`Your fingerprint (${f.user}): ${f.safetyNumber}`);
      const state = f.changed
        ? `KEY CHANGED: sending is blocked; compare, then run "trust ${f.user}" or "verify ${f.user}"`
        : f.verified
        ? "verified"
        : "not verified";
      io.out(`Safety number with ${f.user}: ${f.safetyNumber} (${state})`);
      // The encryption layer's modules load when a key command runs, not with the command table.
      if (f.others) io.err((await import("../e2e/mod.ts")).othersWarning(f.user, f.others, "verify"));
    }));
  const number = (a: string[]) => a.slice(1).join(" ") || undefined; // the words after USER
  program.command("verify").argument("<user>").argument("[number...]").description(
    "mark USER's key as checked: the key whose safety number is NUMBER, else the one 'fingerprint USER' printed (refused if it changed)",
  )
    .addHelpText(
      "after",
      "\nExamples:\n  parley fingerprint bob   # compare the number with bob, in person or by phone\n  parley verify bob\n" +
        "  parley verify bob 05870 16384 …   # the number bob read out",
    )
    .action(withClient(async (c, _o, a) => {
      const f = await c.verify(a[0]!, number(a));
      io.out(`Verified ${f.user}: ${f.safetyNumber}`);
    }));
  program.command("trust").argument("<user>").argument("[number...]").description(
    "accept USER's changed key without verifying it (the one whose safety number is NUMBER, if given)",
  )
    .addHelpText("after", "\nExamples:\n  parley trust bob")
    .action(withClient(async (c, _o, a) => {
      const f = await c.keys.trust(a[0]!, number(a));
      io.out(`Trusted ${f.user}: ${f.safetyNumber}`);
    }));
  registerBlockCommands(program, io, withClient);
}

/** `block USER`, `unblock USER`, `blocked [--json]`: the block list, the account's devices alike (lib/client/e2e/blocks.ts). */
function registerBlockCommands(program: Command, io: CliIo, withClient: WithClient): void {
  // What the account's other devices blocked meanwhile arrives with the queue: applied first.
  const blocks = async (c: ChatClient) => (await c.sync(), capability(c, "blocks"));
  program.command("block").argument("<user>").description(
    "drop everything USER sends you (messages, room lines, files, streams, typing), here and on your other devices, without telling them",
  )
    .addHelpText("after", "\nExamples:\n  parley block mallory\n  parley blocked")
    .action(withClient(async (c, _o, a) => {
      const b = await blocks(c);
      const before = await b.list();
      const after = await b.block(a[0]!);
      const name = after.find((n) => !before.includes(n));
      io.out(name ? `Blocked ${name}` : `${a[0]} is blocked already`);
    }));
  program.command("unblock").argument("<user>").description(
    "take USER off the block list: what they send from now on arrives",
  )
    .addHelpText("after", "\nExamples:\n  parley unblock mallory")
    .action(withClient(async (c, _o, a) => {
      await (await blocks(c)).unblock(a[0]!);
      io.out(`Unblocked ${a[0]}`);
    }));
  program.command("blocked").description("the users blocked here (and on your other devices), one a line")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  parley blocked\n  parley blocked --json")
    .action(withClient(async (c, o) => {
      const names = await (await blocks(c)).list();
      if (o.json) return io.out(safeJson({ blocked: names }));
      if (!names.length) io.err("Nobody is blocked");
      for (const n of names) io.out(n);
    }));
}

/** `admin kick|kicked|invite|grant|revoke`. */
function registerAdminCommands(program: Command, io: CliIo, withClient: WithClient): void {
  const admin = program.command("admin").description("moderation (admins only)")
    .addHelpText("after", "\nExamples:\n  parley admin kick mallory --ban 600\n  parley admin grant bob");
  admin.command("kick").argument("<user>")
    .option("--ban <seconds>", "also ban for SECONDS (or a duration: 10m, 2h, 1d)")
    .option("--reason <text>", "shown to the user (and in admin kicked)")
    .description("disconnect a user")
    .addHelpText(
      "after",
      "\nExamples:\n  parley admin kick mallory\n  parley admin kick mallory --ban 3600\n  parley admin kick mallory --ban 1d --reason spamming",
    )
    .action(withClient(async (c, o, a) => {
      // A ban's duration as the TUI and the console read it (parseDuration; whole seconds as before).
      let ban: number | undefined;
      try {
        ban = o.ban === undefined ? undefined : parseDuration(String(o.ban)) / 1000;
      } catch {
        ban = 0;
      }
      if (ban !== undefined && ban < 1) {
        throw new BackendError("usage", "--ban takes a whole number of seconds (or 10m, 2h, 1d)");
      }
      await c.moderation.kick(a[0]!, ban, o.reason === undefined ? undefined : String(o.reason));
      io.out(ban ? `Banned ${a[0]} for ${ban} s` : `Kicked ${a[0]}`);
    }));
  admin.command("kicked").description("recent kicks and bans").option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  parley admin kicked\n  parley admin kicked --json")
    .action(withClient(async (c, o) => {
      const ks = await c.moderation.kicked();
      if (o.json) return io.out(safeJson(ks));
      if (!ks.length) io.err("Nobody has been kicked");
      for (const k of ks) {
        io.out(
          `${isoSeconds(k.at)} ${k.user} by ${k.by}${
            k.bannedUntil ? ` banned until ${isoSeconds(k.bannedUntil)}` : " kicked"
          }${k.reason ? ` — ${k.reason}` : ""}`,
        );
      }
    }));
  admin.command("invite").description("a one-time code to register with (--registration invite)")
    .addHelpText("after", "\nExamples:\n  parley admin invite")
    .action(withClient(async (c) => {
      io.out(String((await c.conn.request("admin.invite", {})).header.text));
    }));
  for (const [name, verb] of [["grant", "is now an admin"], ["revoke", "is no longer an admin"]] as const) {
    admin.command(name).argument("<user>").description(
      name === "grant" ? "make a user an admin" : "take a user's admin role",
    )
      .addHelpText(
        "after",
        name === "grant" ? "\nExamples:\n  parley admin grant bob" : "\nExamples:\n  parley admin revoke bob",
      )
      .action(withClient(async (c, _o, a) => {
        await (name === "grant" ? c.moderation.grant(a[0]!) : c.moderation.revoke(a[0]!));
        io.out(`${a[0]} ${verb}`);
      }));
  }
}
