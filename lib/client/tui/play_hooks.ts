/**
 * What watch together (watch_view.ts, watch_ports.ts) needs of the video view (video_view.ts): play a
 * server video or a local file from a position with hooks told when its player starts and ends, and stop. The video view owns
 * the watch view and the watch view plays through this, so neither imports the other. Types only.
 */
import type { VideoPlayer } from "../video/player.ts";

/** Told when the player of a play starts (`playAt`) and when it ended, whatever ended it. */
export interface PlayHooks {
  started(player: VideoPlayer): void;
  ended(player: VideoPlayer): void;
}

/** The video view's plays, as watch together drives them. */
export interface VideoPlays {
  /** Plays server video `name` from `start` ms, its overlay labelled `label`. */
  playAt(name: string, start: number, label: string, hooks: PlayHooks): Promise<void>;
  /** Stops what plays or shows. */
  stop(): Promise<void>;
}

/** What peer mode's watch together needs of the video view: play a local file from a position, and stop. */
export interface LocalPlays {
  /** Plays local file `path` from `start` ms, its overlay labelled `label`. */
  playFile(path: string, start: number, label: string, hooks: PlayHooks): Promise<void>;
  stop(): Promise<void>;
}
