/**
 * `ClientVideo` — the video half of `ChatClient` (its `videoPart`, made for each session): the server's library
 * through `VideoClient`, user-to-user streams through `PeerStreams` with frame keys sent end to end
 * whenever the client's codec can (stream_key.ts). Offers and withdrawn offers become
 * `BackendEvent`s through the host's `notify`, so a UI hears of them like of any chat event.
 */
import { FFMPEG_HINT, isVideoFile } from "../../media/ffmpeg.ts";
import {
  BackendError,
  type BackendEvent,
  type OutgoingStream,
  type PlayVideoOptions,
  type StreamSendResult,
  type VideoHandle,
  type VideoListing,
} from "../backend.ts";
import type { Connection } from "../session/connection.ts";
import { type IncomingStream, PeerStreams, type StreamOffer } from "./peer_stream.ts";
import { streamKeysOf } from "./stream_key.ts";
import { blocksOf } from "../e2e/mod.ts";
import { VideoClient } from "./video_client.ts";

export interface ClientVideoHost {
  readonly conn: Connection;
  readonly user: string;
  /** The current body codec (an encrypting one carries `streamKeys`). */
  readonly codec: unknown;
  notify(e: BackendEvent): void;
  /** Finds ffmpeg for sending streams (injected: lib/ never reads the environment); none → null. */
  readonly findFfmpeg?: () => string | null;
}

export class ClientVideo {
  readonly peers: PeerStreams;
  #library: VideoClient | null = null;
  /** The ffmpeg used to send streams; found on first use unless set. */
  ffmpeg: string | null | undefined;

  constructor(readonly host: ClientVideoHost) {
    this.peers = new PeerStreams(host.conn, host.user, {
      keyVia: () => streamKeysOf(host.codec),
      blocks: () => blocksOf(host.codec),
    });
    this.peers.onOffer((o) => host.notify({ type: "stream.offer", offer: publicOffer(o) }));
    this.peers.onWithdrawn((o, by) =>
      host.notify({ type: "stream.withdrawn", sid: o.sid, from: o.from, by })
    );
  }

  get library(): VideoClient {
    return this.#library ??= new VideoClient(this.host.conn);
  }

  async videos(): Promise<VideoListing[]> {
    const r = await this.library.list();
    if (!r.available) {
      throw new BackendError("unavailable", "The server cannot play videos (no ffmpeg there)");
    }
    return r.videos;
  }

  play(name: string, o: PlayVideoOptions = {}): Promise<VideoHandle> {
    return this.library.play(name, o);
  }

  offer(user: string, file: string): OutgoingStream {
    const ac = new AbortController();
    let answered!: (a: boolean) => void;
    const accepted = new Promise<boolean>((r) => (answered = r));
    let offeredOk!: () => void;
    const offered = new Promise<void>((r) => (offeredOk = r));
    const done = (async (): Promise<StreamSendResult> => {
      this.ffmpeg ??= this.host.findFfmpeg?.() ?? null;
      if (!this.ffmpeg) {
        throw new BackendError("unavailable", `Streaming needs ffmpeg: ${FFMPEG_HINT}`);
      }
      if (!(await isVideoFile(file))) throw new BackendError("usage", `Cannot read the video file ${file}`);
      return await this.peers.send(user, file, {
        ffmpeg: this.ffmpeg,
        onAccepted: () => answered(true),
        onOffered: offeredOk,
        signal: ac.signal,
      });
    })();
    done.then(() => answered(false), () => answered(false));
    return { accepted, offered, done, stop: () => ac.abort() };
  }

  #find(sid: string): StreamOffer {
    const o = this.peers.pending.find((p) => p.sid === sid);
    if (!o) throw new BackendError("no_such_stream", "That stream offer is no longer open");
    return o;
  }

  /** `viewer`: the pixels the stream will be drawn at (the sender sends no larger frames). */
  accept(sid: string, viewer?: { width: number; height: number }): Promise<IncomingStream> {
    return this.peers.accept(this.#find(sid), viewer);
  }

  async refuse(sid: string): Promise<void> {
    await this.peers.refuse(this.#find(sid));
  }

  close(): void {
    this.peers.close();
    this.#library?.close();
  }
}

/**
 * Gives `c` its video capability (the client's assembly does it once, start/session_setup.ts): a
 * `ClientVideo` over each session's connection, made again after a reconnect.
 */
export function attachVideo(
  c: ClientVideoHost & { videoPart: unknown; perSession(f: () => void): void },
): void {
  c.perSession(() => (c.videoPart = new ClientVideo(c)));
}

/** The video capability of a client it was attached to; a bug otherwise. */
export function videoOf(c: { videoPart: unknown }): ClientVideo {
  if (!(c.videoPart instanceof ClientVideo)) throw new Error("This client was assembled without video");
  return c.videoPart;
}

function publicOffer(o: StreamOffer): StreamOffer {
  return { ...o };
}
