/**
 * The sending half of a user-to-user stream once the recipient accepted (PeerStreams.send in
 * peer_stream.ts offers it and waits for the answer): the local file read by ffmpeg into a
 * latest-frame slot at the offered size or, smaller, the size the viewer draws (from the second
 * frame on: the first is the one readied while the offer waited; again when it changes), each JPEG sealed with the chunked file AEAD under the stream's key (bound to stream id,
 * frame index, sender and recipient) and sent as `stream.frame` with one frame in flight; at the end
 * the figures go to the recipient with `stream.stop`.
 */
import { encryptFile } from "../../crypto/file_aead.ts";
import {
  type EarlyMjpeg,
  GUESSED_VIDEO,
  type MjpegOptions,
  type MjpegSource,
  type ProbeInfo,
  spawnEarly,
  spawnMjpeg,
} from "../../media/ffmpeg.ts";
import type { Rendition } from "../../media/thirds.ts";
import { VideoStream, type VideoStreamOptions } from "../../media/stream.ts";
import { BackendError } from "../backend.ts";
import type { Connection } from "../session/connection.ts";
import { frameCtx } from "./incoming_stream.ts";

/** How a local video is streamed. */
export interface SendOptions {
  ffmpeg: string;
  /** Largest frame height sent (default 720; never above the source). */
  maxHeight?: number;
  /** Stop after this many frames (default: the whole file). */
  maxFrames?: number;
  /** Starts ffmpeg (default: media/ffmpeg.ts; tests inject one). */
  spawn?: VideoStreamOptions["spawn"];
}

/** How a stream ended, with its figures. */
export interface SendResult {
  /** Frames handed to the server. */
  sent: number;
  /** Frames the server passed on to the recipient. */
  relayed: number;
  /**
   * Source frames that never reached the recipient: skipped by the latest-frame slot while a frame
   * was in flight, or dropped by the server for a slow recipient. relayed + dropped = frames read.
   */
  dropped: number;
  reason: "end" | "stopped" | "refused" | "disconnected";
  by?: string;
}

/** Who stopped a stream and why, once the other side (or the server) did. */
export interface Halt {
  by?: { by: string; reason: string };
}

/** What ffmpeg's header tells of a local video. */
type VideoInfo = ProbeInfo;

/** The last part of a path (either slash). */
export function basename(path: string): string {
  return path.replace(/\\/g, "/").split("/").pop() || path;
}

/** A size in pixels. */
export interface Pixels {
  width: number;
  height: number;
}

/** The pane `viewer` draws in, no larger than the `offered` size. */
export function sendPane(offered: Pixels, viewer?: Pixels): Pixels {
  if (!viewer) return offered;
  return { width: Math.min(offered.width, viewer.width), height: Math.min(offered.height, viewer.height) };
}

/** The stream being sent: its id and key, both ends, the file, its probe and the size offered (the most sent). */
export interface OutgoingStream {
  sid: string;
  key: Uint8Array;
  me: string;
  peer: string;
  file: string;
  info: VideoInfo;
  width: number;
  height: number;
  /** The pixels the viewer said it draws, when it said them. */
  viewer?: Pixels;
}

/**
 * The file's ffmpeg started paused at the offered size while the offer waits for its answer, so
 * that its first frame is decoded before the accept arrives (`relayFrames` plays it). The caller
 * stops it when the offer is refused.
 */
export function readyStream(
  file: string,
  info: VideoInfo,
  offered: Pixels,
  o: SendOptions & { signal?: AbortSignal },
): VideoStream {
  const r: Rendition = "1080p";
  const opts: VideoStreamOptions = {
    ffmpeg: o.ffmpeg,
    video: { name: basename(file), ...info, renditions: [r] },
    path: () => file,
    mode: r,
    pane: offered,
    paused: true,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.spawn ? { spawn: o.spawn } : {}),
  };
  return new VideoStream(opts);
}

/** A local video read by its ffmpeg, started paused at the size it is offered at (`readyFile`). */
export interface ReadiedFile {
  info: VideoInfo;
  /** The size offered: the source's, no higher than `maxHeight` (default 720), even. */
  offered: Pixels;
  stream: VideoStream;
}

/** The size a video of `info`'s size is offered at: its own, no higher than `maxHeight` (default 720), even. */
export function offerSize(info: Pixels, maxHeight?: number): Pixels {
  const height = Math.min(info.height, maxHeight ?? 720) & ~1;
  const width = Math.max(2, Math.round((info.width * height) / info.height / 2) * 2);
  return { width, height };
}

/**
 * Starts `file`'s ffmpeg, which says the file's facts in its own header (no separate probe: issue
 * 75), and keeps it, paused, at the size it will be offered at: `PeerStreams.send` does this itself
 * before its offer, and the `stream` command earlier still, while it logs in, so that the first
 * frame is decoded before the viewer accepts. A file that is no video rejects (FfmpegError), its
 * ffmpeg gone.
 */
export async function readyFile(
  file: string,
  o: SendOptions & { signal?: AbortSignal },
): Promise<ReadiedFile> {
  const early = spawnEarly({
    ffmpeg: o.ffmpeg,
    input: file,
    fps: GUESSED_VIDEO.fps,
    ...offerSize(GUESSED_VIDEO, o.maxHeight),
  });
  const info = await early.info; // as a probe was: the signal stops the stream made next
  const offered = offerSize(info, o.maxHeight);
  let pending: EarlyMjpeg | null = early; // the first start takes it (an injected spawn: stopped)
  const spawn = (s: MjpegOptions): MjpegSource => {
    const e = pending;
    pending = null;
    if (!e) return (o.spawn ?? spawnMjpeg)(s);
    return o.spawn ? (void e.stop(), o.spawn(s)) : e.bind(s);
  };
  const stream = readyStream(file, info, offered, { ...o, spawn });
  void stream.done.then(() => early.stop()); // stopped before its first start: not left waiting
  return { info, offered, stream };
}

/**
 * Streams the accepted file from `stream` (readyStream's, paused until now) until its end, a stop
 * (`end.stopped`, who in `end.halt`), the signal or `maxFrames`; `end.forget` runs once the stream
 * stopped, before the figures are counted. A viewer drawing fewer pixels than offered gets the
 * ready first frame at the offered size, and the rest from ffmpeg restarted at its size.
 */
export async function relayFrames(
  conn: Connection,
  s: OutgoingStream,
  stream: VideoStream,
  o: SendOptions & { signal?: AbortSignal },
  end: {
    stopped: Promise<void>;
    halt: Halt;
    forget: () => void;
    /** Registers what to do when the viewer's pane changes size. */
    resized?: (to: (viewer: Pixels) => void) => void;
  },
): Promise<SendResult> {
  const { sid, key, me, peer, width, height } = s;
  const { stopped, halt } = end;
  // The ready ffmpeg's first frame goes as it is (the viewer scales it down while drawing): ffmpeg
  // restarts at the viewer's size after it, not before it (issue 75). No later frame is larger.
  let viewer = s.viewer, first = true;
  const fit = (v: Pixels | undefined) => {
    viewer = v;
    if (first) return;
    const p = sendPane({ width, height }, v);
    stream.setPane(p.width, p.height); // ffmpeg restarts only when the frame size really changes
  };
  end.resized?.(fit);
  const res: SendResult = { sent: 0, relayed: 0, dropped: 0, reason: "end" };
  stopped.then(() => stream.stop());
  stream.play();
  try {
    for (;;) {
      const f = await stream.nextFrame();
      if (!f || halt.by) break;
      if (first) (first = false, fit(viewer)); // the restart overlaps this frame's sending
      const body = await encryptFile(key, frameCtx(sid, f.index, me, peer), f.data);
      const rep = await conn.request(
        "stream.frame",
        { sid, pts: Math.round(f.pts), index: f.index },
        body,
      )
        .catch((e) => {
          if (e instanceof BackendError && e.code === "no_such_stream") return null; // stopped meanwhile
          throw e;
        });
      if (!rep) break;
      res.sent++;
      if (rep.header.delivered) res.relayed++;
      if (o.maxFrames !== undefined && res.sent >= o.maxFrames) break;
    }
  } finally {
    await stream.stop();
    end.forget();
    // Frames the slot replaced while one was in flight count as dropped, as do relay drops.
    res.dropped = stream.stats().dropped + (res.sent - res.relayed);
  }
  const sb = halt.by;
  if (sb) {
    res.reason = sb.reason === "disconnected" ? "disconnected" : "stopped";
    res.by = sb.by;
  } else {
    if (o.signal?.aborted) res.reason = "stopped";
    // The recipient learns the same figures, so both ends show the same numbers.
    await conn.request("stream.stop", { sid, sent: res.relayed, dropped: res.dropped }).catch(
      () => {},
    );
  }
  return res;
}
