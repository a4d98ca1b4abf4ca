/**
 * The peer script's rows for watch together (issue 39.7; part of PEER_SCRIPT, cli/peer_script.ts)
 * and the event lines they bring. `watch-together PEER FILE` starts FILE for both (the peer is
 * offered the file first when it holds no copy: the command returns once the video plays), without
 * FILE it joins what PEER plays; `watch PEER play|pause|seek SECONDS|where|leave` acts for both. The
 * player here has no pictures (video/watch_viewer.ts `Playhead`): its position follows the shared
 * state on the session's clock (peer/watch.ts). Added lines of the fixed contract (peer.ts):
 *
 *   together PEER playing|paused SHA256 at SECONDS by WHO (n N)   the shared state changed
 *   together PEER refused WHO: WHY     a watch control refused (forged, replayed, another session, old)
 *   together PEER invited SHA256       PEER plays a video while this node does not watch with them
 *   together PEER position SECONDS     (`watch PEER where`) where the player here is
 *
 * What the session says besides (offering the copy, no copy here) goes to `err` as "parley: …".
 */
import { BackendError } from "../backend.ts";
import type { PeerWatchEvent } from "../peer/watch.ts";
import { watchLine } from "../video/watch_room.ts";
import type { ScriptCommand } from "./peer_changes.ts";

const secs = (ms: number) => `${(ms / 1000).toFixed(3)}s`;

/** The event line of a watch event (null: none; a note goes to `err`). */
export function watchEventLine(e: PeerWatchEvent): string | null {
  if (e.type === "watch") return `together ${e.name} ${watchLine(e.event)}`;
  if (e.type === "invited") return `together ${e.name} invited ${e.state.video}`;
  return null;
}

const ACTIONS = "play|pause|seek|where|leave";

export const WATCH_SCRIPT: readonly ScriptCommand[] = [
  {
    name: "watch-together",
    usage: "PEER [FILE…]",
    help: "watch a local video with PEER in step: FILE starts it for both (offered to PEER first when it " +
      "has no copy; returns once it plays), without FILE you join what PEER plays",
    run: async (node, [peer, file]) => {
      if (file) await node.watch.start(peer!, file);
      else await node.watch.join(peer!);
    },
  },
  {
    name: "watch",
    usage: `PEER ${ACTIONS} [SECONDS]`,
    help: 'play, pause or seek to SECONDS the video watched with PEER, for both; where prints "together ' +
      'PEER position SECONDS"; leave stops watching here',
    run: async (node, [peer, what, s], io) => {
      if (what === "where") return io.out(`together ${peer} position ${secs(node.watch.position(peer!))}`);
      if (what === "leave") return node.watch.leave(peer!);
      if (what === "play") return void (await node.watch.control(peer!, { play: true }));
      if (what === "pause") return void (await node.watch.control(peer!, { pause: true }));
      if (what === "seek" && s !== undefined && Number.isFinite(Number(s)) && Number(s) >= 0) {
        return void (await node.watch.control(peer!, { seek: Number(s) * 1000 }));
      }
      throw new BackendError("usage", `Usage: watch PEER ${ACTIONS} [SECONDS]`);
    },
  },
];
