/**
 * The video half of the `ChatBackend` contract (backend.ts): what a library listing, a playing
 * video, a frame and an outgoing stream look like to the UI, and `VideoControls`, the capability
 * object a backend offers when it can play and stream videos. Types only.
 */

export type VideoRendition = "240p" | "720p" | "1080p";

/** A video in the server's library. */
export interface VideoListing {
  name: string;
  /** Seconds. */
  duration: number;
  fps: number;
  width: number;
  height: number;
  renditions: VideoRendition[];
}

/** One JPEG frame to draw (from the server's library or a user's stream, already decrypted). */
export interface VideoFrameData {
  /** Presentation time, ms. */
  pts: number;
  index: number;
  rendition: VideoRendition;
  /** What the overlay calls the picture instead of `rendition` (a user's stream: its offered size, "720p"). */
  shownAs?: string;
  width: number;
  height: number;
  /** The frame: a JPEG, or raw RGB24 rows (width × height × 3 bytes) when `format` is "rgb". */
  data: Uint8Array;
  format?: "jpeg" | "rgb";
  /** Bytes that came for it when that is not `data.length` (a raw frame rebuilt from a delta). */
  bytes?: number;
}

/**
 * A playing video as the UI sees it: frames to draw (newest first; `next()` resolves null at the
 * end) and controls. Optional controls exist only where they make sense (a stream cannot seek).
 */
export interface VideoHandle {
  next(): Promise<VideoFrameData | null>;
  /** Frames skipped before anyone drew them. */
  readonly dropped: number;
  /** Frames received per rendition (server playback), for the end line. */
  readonly perRendition?: Readonly<Record<string, number>>;
  stop(): Promise<void>;
  pause?(): Promise<void>;
  resume?(): Promise<void>;
  seek?(ms: number): Promise<void>;
  /** The drawing area changed size (pixels): the server rescales. */
  setPane?(width: number, height: number): Promise<void>;
  /**
   * What the player drew lately (frames per second) and the fraction of the time decoding and
   * drawing kept it busy; a server playback passes it on so adaptive mode sees local drops.
   */
  report?(fps: number, load: number): void;
  /** The player is done with this frame (drawn or skipped): its buffer may take a later frame. */
  release?(f: VideoFrameData): void;
  /**
   * Ms ahead of their presentation time that frames may arrive (a server playback that granted a
   * lead): the player then shows each frame at its time instead of on arrival. 0 or absent: on arrival.
   */
  readonly lead?: number;
  /** Ms of frames held beyond the lead (a paced player that started late shows the next one sooner). */
  readonly backlog?: number;
  /** How small frames come ("rgb": raw, nothing to decode); absent: JPEG. */
  readonly format?: "jpeg" | "rgb";
  /** How long the whole video is, ms (a server video); absent for a live stream. */
  readonly duration?: number;
}

export interface PlayVideoOptions {
  mode?: "adaptive" | "thirds";
  /** Drawing area in pixels (the server scales frames to fit). */
  width?: number;
  height?: number;
  /** Ask the server to send frames up to this many ms early (see `VideoHandle.lead`). */
  lead?: number;
  /** How small (half-block) frames should come: raw RGB, JPEG, or "auto" (raw over a local network). */
  format?: "jpeg" | "rgb" | "auto";
  /** Start position, ms (a late joiner of watch together starts where the others are). */
  start?: number;
}

/**
 * Optional (watch together, issue 39.7): what a room's or a DM's shared viewing needs besides the
 * "signal" events (video/watch_room.ts); set when the client has end-to-end keys. A session is named
 * by its key: a room's name, or a DM's conversation key (video/watch_channel.ts `watchKey`).
 */
export interface WatchChannel {
  /** Seals `payload(mid)` for the session `room` (end to end) and relays it to its members' live sessions. */
  signal(room: string, payload: (mid: string) => Uint8Array): Promise<void>;
  /** Who may play, pause and seek: the room's admins as its signed membership log says; a DM's two parties. */
  roomAdmins(room: string): Promise<string[]>;
  /** The server's clock, ms (one round trip; `ClockOffset` keeps the quickest). */
  serverTime(): Promise<number>;
}

/** A user's offer to stream a video to this user. */
export interface StreamOfferInfo {
  sid: string;
  from: string;
  name: string;
  fps?: number;
  width?: number;
  height?: number;
}

/** How an outgoing stream ended. */
export interface StreamSendResult {
  sent: number;
  relayed: number;
  /** Source frames that never reached the recipient (skipped by the sender's slot or by the relay). */
  dropped: number;
  reason: "end" | "stopped" | "refused" | "disconnected";
  by?: string;
}

/**
 * An outgoing stream: `offered` resolves once the file was read as a video and offered (it never
 * resolves when that failed: `done` rejects), `accepted` when the recipient answers, `done` at the end.
 */
export interface OutgoingStream {
  readonly offered?: Promise<void>;
  readonly accepted: Promise<boolean>;
  readonly done: Promise<StreamSendResult>;
  stop(): void;
}

/** A stream offered to this user, accepted: frames decrypted end to end, and how it ended. */
export type IncomingVideo = VideoHandle & { readonly ended: Promise<{ reason: string; by: string }> };

/** Capability (video): the server's library (`/videos`, `/play`) and user-to-user streams (`/stream`). */
export interface VideoControls {
  /** The server's video library (`/videos`). */
  list(): Promise<VideoListing[]>;
  /** Plays a library video (`/play`); frames come through the handle. */
  play(name: string, opts?: PlayVideoOptions): Promise<VideoHandle>;
  /** Offers a local video file to a user (`/stream`); frames flow once accepted. */
  offer(user: string, file: string): OutgoingStream;
  /**
   * Accepts an offered stream; its frames are decrypted end to end. `viewer`: the pixels it will be
   * drawn at, so the sender sends no larger frames (the handle's `setPane` says a later size).
   */
  accept(sid: string, viewer?: { width: number; height: number }): Promise<IncomingVideo>;
  /** Refuses an offered stream. */
  refuse(sid: string): Promise<void>;
}
