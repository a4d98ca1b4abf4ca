/**
 * Open rooms in the full-screen client (issue 71.12), for the rows of commands_rooms.ts: `/join` of
 * a room one is not in (a self-join of an open room, through the rooms capability's `join`), the open
 * rooms `/rooms` (`/list`) shows after one's own, `/room open|close` and `/room create --open`
 * (`setPublic`). A room's description is public: the server stores it in clear and shows it to anyone
 * listing open rooms, unlike its topic (end to end); it is shown through sanitize.ts like any text.
 */
import type { CommandContext } from "./command_context.ts";
import { BackendError, type RoomControls } from "../backend.ts";
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import { counted } from "../../common/words.ts";
import { ROOM_DESCRIPTION_MAX } from "../../protocol/messages.ts";

/** `/join #ROOM` of a room I am not in: joins it by myself when the server and its log say it is open. */
export async function joinOpen(ctx: CommandContext, rooms: RoomControls, name: string): Promise<void> {
  const info = await rooms.join!(name);
  ctx.open({ kind: "room", name: info.name }, true);
  ctx.print(
    `Joined #${sanitizeName(info.name)} (an open room, ${counted(info.members.length, "member")}): ` +
      "you read what is sent from now on, not what was sent before",
  );
}

/** The open rooms I am not in, after my own in `/rooms` (nothing when the backend lists none). */
export async function printOpenRooms(ctx: CommandContext, rooms: RoomControls): Promise<void> {
  if (!rooms.openRooms) return;
  const all = await rooms.openRooms().catch((e) => {
    if (e instanceof BackendError && e.code === "unknown_kind") return null; // a server from before open rooms
    throw e;
  });
  if (!all) return;
  const others = all.filter((r) => !r.member);
  if (!others.length) {
    return ctx.print("No other open rooms on this server (/room create --open NAME makes one)");
  }
  ctx.print(
    `${
      counted(others.length, "open room")
    } on this server (/join #ROOM enters one; descriptions are public):`,
  );
  for (const r of others) {
    const about = r.description ? `: ${sanitize(r.description)}` : "";
    ctx.print(`  #${sanitizeName(r.name)} (${counted(r.members, "member")})${about}`);
  }
}

/** Refuses a public description the server would refuse, before anything is signed or sent. */
function checkDescription(text: string): void {
  if ([...text].length > ROOM_DESCRIPTION_MAX) {
    throw new Error(
      `A room description is at most ${ROOM_DESCRIPTION_MAX} characters (it is public, not encrypted)`,
    );
  }
}

/** `/room open NAME [DESCRIPTION…]` and `/room close NAME` (room admins). */
export async function openOrClose(
  ctx: CommandContext,
  rooms: RoomControls,
  sub: "open" | "close",
  name: string,
  description?: string,
): Promise<void> {
  if (!rooms.setPublic) throw new Error("Open rooms need a server that offers them");
  if (description !== undefined) checkDescription(description);
  const r = await rooms.setPublic(name, {
    open: sub === "open",
    ...(description !== undefined ? { description } : {}),
  });
  const n = `#${sanitizeName(name)}`;
  if (!r.open) {
    return ctx.print(`${n} is closed: only its members' invitations bring people in; members stay`);
  }
  const about = r.description ? ` Its public description: ${sanitize(r.description)}` : "";
  ctx.print(`${n} is open: anyone on this server may /join it and read from then on.${about}`);
}
