/**
 * Pushed room changes as the codec sees them (in order with messages): the room's verified log is
 * read again, a member who left or was kicked makes my chain rotate and their chains go, and a
 * change made by someone else is told with who signed it and whether it checks out
 * (e2e/directory.ts `describeChange`; an open room's self-join, open and close too). Runs under the folder's lock.
 */
import type { LogVerb } from "./body_codec.ts";
import { MEMBERSHIP_VERBS } from "./directory.ts";
import { type E2eParts, errorText } from "./parts.ts";

/** Applies a pushed `room` frame header `h`. */
export async function roomChanged(p: E2eParts, h: Record<string, unknown>): Promise<void> {
  const room = String(h.room);
  const members = Array.isArray(h.members) ? h.members : [];
  const change = String(h.change);
  const by = String(h.by ?? "");
  const user = typeof h.user === "string" ? h.user : change === "left" ? by : "";
  p.logs.invalidate(room);
  let inLog = false; // the change is the latest entry of the room's verified membership log
  if (members.includes(p.me)) {
    inLog = await p.logs.isLatest(room, h.entry).catch((e) => {
      p.notice("error", errorText(e));
      return false;
    });
  }
  if (change === "updated" && inLog && by !== p.me) { // room.adopt: a 0.1.0 room got its log
    p.notice(
      "info",
      `${by} signed #${room}'s membership log (a room made by Parley 0.1.0): ${members.join(", ")}`,
    );
  }
  if ((change === "left" || change === "kicked") && user) {
    await p.rooms.memberLeft(room, user, await p.devices.addresses(user));
  }
  const verb = openRoomVerb(change, by, user, h.entry) ?? MEMBERSHIP_VERBS[change];
  if (by && by !== p.me && verb) {
    const n = await p.dir.describeChange(h, room, verb, by, user, inLog || !members.includes(p.me));
    p.notice(n.level, n.text);
  }
}

/** An open room's change (issue 71.12): a self-join ("joined" by the joiner), an open or a close ("updated"). */
function openRoomVerb(change: string, by: string, user: string, entry: unknown): LogVerb | undefined {
  if (change === "joined" && by && user === by) return "enter";
  const action = typeof entry === "object" && entry !== null
    ? (entry as { action?: unknown }).action
    : undefined;
  if (change === "updated" && (action === "open" || action === "close")) return action;
  return undefined;
}
