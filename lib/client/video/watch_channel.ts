/**
 * Watch together's link to the chat (issue 39.7), one home for the scripted `watch-together`, the
 * full-screen client and peer mode (issue 70): `watchChannel` makes the backend's `WatchChannel` out of
 * either mode's `ChatClient` (signals sealed and sent by the core, core/sending.ts `sendSignal`, over its
 * link — the relay, or a peer's channel —, and opened by it, a refused one said there; over a server the
 * room's admins from its signed log and the server's clock from a ping, in peer mode the clock given);
 * `sampleClock` estimates a session's clock from a few round trips (the server's, or in a DM without
 * a server its reference party's: watch_sessions.ts).
 *
 * A session is a room's or a DM's: its key is the room's name, or the DM's conversation key
 * (`watchKey`; "d:alice:bob", the same at both ends), whose controllers are its two parties
 * (`roomAdmins` of a DM key) and whose signals go to every device of the other one (`watchTarget`;
 * e2e/receive.ts: a device without a session gets one from its prekey bundle, as for a message).
 */
import { BackendError, type Target, type WatchChannel } from "../backend.ts";
import type { ServerCommands } from "../core/server_commands.ts";
import type { Connection } from "../session/connection.ts";
import { convKey, normalizeName, withoutHash } from "../../protocol/names.ts";
import { type ClockOffset, isDmKey } from "./watch_together.ts";

/** The key of the session of conversation `to` seen from `me`: a room's name, a DM's conversation key. */
export function watchKey(me: string, to: Target): string {
  return to.kind === "room" ? to.name! : convKey("user", me, to.name!);
}

/** The session key of what a user typed: "@bob" (a DM with bob), else a room ("#den" or "den"). */
export function watchKeyOf(me: string, typed: string): string {
  if (!typed.startsWith("@")) return withoutHash(typed);
  const name = typed.slice(1);
  return watchKey(me, { kind: "user", name: normalizeName(name) ?? name });
}

/** The two parties of a DM's key (null for a room's). */
export function dmParties(key: string): [string, string] | null {
  if (!isDmKey(key)) return null;
  const [, a, b] = key.split(":");
  return [a!, b!];
}

/** Where the signals of session `key` go from `me`: the room, or the other party of the DM. */
export function watchTarget(me: string, key: string): Target {
  const two = dmParties(key);
  if (!two) return { kind: "room", name: key };
  return { kind: "user", name: two[0] === me ? two[1] : two[0] };
}

/** How session `key` is named to `me`: "#room", or "@peer" for a DM. */
export function watchName(me: string, key: string): string {
  const t = watchTarget(me, key);
  return `${t.kind === "room" ? "#" : "@"}${t.name}`;
}

/** The session key of a signal that arrived (sent to a room, or to me in a DM); null for a broadcast. */
export function signalKey(e: { from: string; to: Target }): string | null {
  if (e.to.kind === "room") return e.to.name!;
  return e.to.kind === "user" ? convKey("user", e.to.name!, e.from) : null;
}

/** Round trips `sampleClock` makes; the quickest wins. */
export const CLOCK_SAMPLES = 5;

/** What a channel needs of the conversation core (core/chat_client.ts `ChatClient`, either mode's). */
export interface WatchCore {
  readonly user: string;
  signal(to: Target, payload: (mid: string) => Uint8Array): Promise<boolean>;
  /** A server's commands and connection (none in peer mode). */
  readonly commands?: Pick<ServerCommands, "roomAdmins">;
  readonly conn?: Pick<Connection, "request">;
}

/**
 * The channel of `client()` (the current client: a new one after each reconnect); its clock `time`, else
 * the server's (a ping).
 */
export function watchChannel(client: () => WatchCore, time?: () => Promise<number>): WatchChannel {
  return {
    signal: async (key, payload) => {
      const to = watchTarget(client().user, key);
      if (!(await client().signal(to, payload)) && to.kind === "user") {
        // No device of theirs could be sealed for: no keys published, or a changed key waits.
        throw new BackendError(
          "no_session",
          `No device of ${to.name} can read it: they have no encryption keys yet, or their key changed`,
        );
      }
    },
    // In a DM either party plays, pauses and seeks.
    roomAdmins: (key) => {
      const two = dmParties(key), cmds = client().commands;
      if (two || !cmds) return Promise.resolve(two ?? []);
      return cmds.roomAdmins(key);
    },
    serverTime: time ?? (async () => {
      const r = await client().conn?.request("ping");
      if (typeof r?.header.now !== "number") throw new BackendError("unavailable", "The server sent no time");
      return r.header.now;
    }),
  };
}

/** Feeds `clock` a few samples of the server's time (local time from `now`). */
export async function sampleClock(
  channel: Pick<WatchChannel, "serverTime">,
  clock: ClockOffset,
  now: () => number,
  samples = CLOCK_SAMPLES,
): Promise<void> {
  for (let i = 0; i < samples; i++) {
    const sent = now();
    const server = await channel.serverTime();
    clock.sample(sent, server, now());
  }
}
