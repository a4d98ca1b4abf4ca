/**
 * Wire handlers for `video.*` and `stream.*`, closed over the server's `VideoService` and
 * `StreamRelay` (the command table holds them like every other handler). Expected failures become
 * `err` frames with a stable code and one sentence; `video.play` replies before the first frame.
 */
import type { Request } from "../../protocol/messages.ts";
import type { Core } from "../core.ts";
import type { Session } from "../session.ts";
import type { StreamRelay } from "./relay.ts";
import { VideoError, type VideoService } from "./service.ts";

export interface VideoParts {
  service: VideoService;
  relay: StreamRelay;
}

type Handler<K extends keyof VideoHandlers> = VideoHandlers[K];

export interface VideoHandlers {
  "video.list": (c: Core, s: Session, m: Request<"video.list">) => Promise<void>;
  "video.play": (c: Core, s: Session, m: Request<"video.play">) => Promise<void>;
  "video.ctl": (c: Core, s: Session, m: Request<"video.ctl">) => Promise<void>;
  "stream.offer": (c: Core, s: Session, m: Request<"stream.offer">) => Promise<void>;
  "stream.answer": (c: Core, s: Session, m: Request<"stream.answer">) => Promise<void>;
  "stream.pane": (c: Core, s: Session, m: Request<"stream.pane">) => Promise<void>;
  "stream.frame": (c: Core, s: Session, m: Request<"stream.frame">, body: Uint8Array) => Promise<void>;
  "stream.stop": (c: Core, s: Session, m: Request<"stream.stop">) => Promise<void>;
}

async function guard(
  s: Session,
  id: number,
  fn: () => Promise<Record<string, unknown> | void>,
): Promise<void> {
  try {
    const r = await fn();
    if (r) s.reply(id, r);
  } catch (e) {
    if (e instanceof VideoError) return s.fail(id, e.code, e.message);
    throw e;
  }
}

export function videoHandlers(v: VideoParts): VideoHandlers {
  const list: Handler<"video.list"> = (_c, s, m) =>
    guard(s, m.id, async () => {
      const r = await v.service.list();
      return {
        available: r.available,
        preparing: r.preparing,
        videos: r.videos.map((x) => ({
          name: x.name,
          duration: x.duration,
          fps: x.fps,
          width: x.width,
          height: x.height,
          renditions: x.renditions,
        })),
      };
    });
  const play: Handler<"video.play"> = (c, s, m) =>
    guard(s, m.id, async () => {
      const viewer = await v.service.play(s, m);
      const mode = viewer.stream.stats().mode;
      c.log.info("video.play", { user: s.user, video: m.name, stream: viewer.id, mode });
      s.reply(m.id, {
        stream: viewer.id,
        fps: viewer.video.fps,
        duration: viewer.video.duration,
        width: viewer.video.width,
        height: viewer.video.height,
        renditions: viewer.video.renditions,
        mode,
        lead: viewer.stream.lead,
        format: m.format ?? "jpeg", // small frames only; each frame says what it is
      });
      viewer.begin(); // frames only after the reply
    });
  const ctl: Handler<"video.ctl"> = (_c, s, m) => guard(s, m.id, () => v.service.ctl(s, m));
  const offer: Handler<"stream.offer"> = (c, s, m) =>
    guard(s, m.id, () => {
      const r = v.relay.offer(s, m);
      c.log.info("stream.offer", { from: s.user, to: m.to, sid: m.sid });
      return Promise.resolve(r);
    });
  const answer: Handler<"stream.answer"> = (_c, s, m) =>
    guard(s, m.id, () => Promise.resolve(v.relay.answer(s, m)));
  const pane: Handler<"stream.pane"> = (_c, s, m) =>
    guard(s, m.id, () => Promise.resolve(v.relay.pane(s, m)));
  const frame: Handler<"stream.frame"> = (_c, s, m, body) =>
    guard(s, m.id, () => Promise.resolve(v.relay.frame(s, m, body)));
  const stop: Handler<"stream.stop"> = (_c, s, m) =>
    guard(s, m.id, () => Promise.resolve(v.relay.stop(s, m)));
  return {
    "video.list": list,
    "video.play": play,
    "video.ctl": ctl,
    "stream.offer": offer,
    "stream.answer": answer,
    "stream.pane": pane,
    "stream.frame": frame,
    "stream.stop": stop,
  };
}
