/**
 * Watch together's link to the chat (issue 39.7), one home for the scripted `watch-together` and the
 * full-screen client: `watchChannel` makes the backend's `WatchChannel` out of a `ChatClient` (sealed
 * room signals, the room's admins from its signed log, the server's clock from a ping);
 * `roomSignalsOf` turns a channel and a feed of "signal" events into the `SealedRoomSignals` a
 * `WatchRoom` listens to; `sampleClock` estimates the server's clock from a few round trips.
 */
import { BackendError, type BackendEvent, type WatchChannel } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { SealedRoomSignals } from "./watch_room.ts";
import type { ClockOffset } from "./watch_together.ts";

/** Round trips `sampleClock` makes; the quickest wins. */
export const CLOCK_SAMPLES = 5;

/** The channel of `client()` (the current client: a new one after each reconnect). */
export function watchChannel(client: () => ChatClient): WatchChannel {
  return {
    signal: (room, payload) => client().signal(room, payload),
    roomAdmins: (room) => client().roomAdmins(room),
    serverTime: async () => {
      const r = await client().conn.request("ping");
      if (typeof r.header.now !== "number") throw new BackendError("unavailable", "The server sent no time");
      return r.header.now;
    },
  };
}

/** The room signals of `channel`, heard through `on` (a backend's or a client's event feed). */
export function roomSignalsOf(
  channel: Pick<WatchChannel, "signal">,
  on: (listener: (e: BackendEvent) => void) => () => void,
): SealedRoomSignals {
  return {
    send: (room, payload) => channel.signal(room, payload),
    onSignal: (cb) =>
      on((e) => {
        if (e.type === "signal" && e.to.kind === "room") {
          cb({ from: e.from, room: e.to.name!, mid: e.mid, plaintext: e.plaintext });
        }
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
