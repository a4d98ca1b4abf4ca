/**
 * Video keys — pure: the one map from a key to what it does to a playing video, shared by the
 * full-screen client's video pane and the scripted `parley play`/`parley watch`: `q` stops, space
 * pauses or resumes, ← and → seek 5 s back or forward. A text event of several characters (typed
 * faster than one read) counts only when every character is a video key, so words typed into an
 * editor are never taken for keys. `applyVideoAction` carries one out on a player.
 */
import type { KeyEvent } from "../term/keys.ts";

/** How far ← and → seek. */
export const SEEK_MS = 5000;

export type VideoAction = { do: "stop" } | { do: "pause" } | { do: "seek"; ms: number };

const CHARS: Record<string, VideoAction> = { q: { do: "stop" }, " ": { do: "pause" } };
const KEYS: Record<string, VideoAction> = {
  Left: { do: "seek", ms: -SEEK_MS },
  Right: { do: "seek", ms: SEEK_MS },
};

/** What the key does to a playing video, in order; empty when it is not (only) video keys. */
export function videoActions(ev: KeyEvent): VideoAction[] {
  if (ev.type === "key") return KEYS[ev.key] ? [KEYS[ev.key]!] : [];
  if (ev.type !== "text") return [];
  const out: VideoAction[] = [];
  for (const ch of ev.text) {
    const a = CHARS[ch];
    if (!a) return [];
    out.push(a);
  }
  return out;
}

/** What an action needs of a player (VideoPlayer has it). */
export interface VideoControls {
  stop(): Promise<unknown>;
  togglePause(): Promise<void>;
  seekBy(ms: number): Promise<void>;
}

/** Carries out `a` on `player`; the promise of the call it made. */
export function applyVideoAction(player: VideoControls, a: VideoAction): Promise<unknown> {
  if (a.do === "stop") return player.stop();
  if (a.do === "pause") return player.togglePause();
  return player.seekBy(a.ms);
}
