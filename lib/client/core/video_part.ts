/**
 * `VideoPart`: the video capability as `ChatClient` holds it — built above core
 * (video/client_video.ts `attachVideo` sets it when the client is assembled) and handed on by
 * the core as the backend's `video` object. Until then every call answers "unavailable".
 */
import {
  BackendError,
  type IncomingVideo,
  type OutgoingStream,
  type PlayVideoOptions,
  type VideoControls,
  type VideoHandle,
  type VideoListing,
} from "../backend.ts";

export interface VideoPart {
  videos(): Promise<VideoListing[]>;
  play(name: string, opts?: PlayVideoOptions): Promise<VideoHandle>;
  offer(user: string, file: string): OutgoingStream;
  accept(sid: string, viewer?: { width: number; height: number }): Promise<IncomingVideo>;
  refuse(sid: string): Promise<void>;
}

const noVideo = (): never => {
  throw new BackendError("unavailable", "This client was assembled without video");
};
const later = <T>(): Promise<T> => Promise.resolve().then(noVideo);
/** A client assembled without video. */
export const NO_VIDEO: VideoPart = {
  videos: later,
  play: later,
  offer: noVideo,
  accept: later,
  refuse: later,
};

/** The backend's video capability over the current connection's `VideoPart`. */
export function videoControls(v: () => VideoPart): VideoControls {
  return {
    list: () => v().videos(),
    play: (name, opts) => v().play(name, opts),
    offer: (user, file) => v().offer(user, file),
    accept: (sid, viewer) => v().accept(sid, viewer),
    refuse: (sid) => v().refuse(sid),
  };
}
