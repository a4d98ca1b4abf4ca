/**
 * The receiving half of a user-to-user video stream (see peer_stream.ts): `StreamOffer` (what an
 * offer says), `frameCtx` (the AEAD context that binds each frame to the stream id, frame index,
 * sender and recipient) and `IncomingStream`, a stream this client accepted. Its frames are
 * opened in order of arrival (a frame that fails to open is counted as rejected and skipped; a
 * frame whose index is not above the highest one opened is a replay, counted and skipped) and the
 * newest is kept in a latest-frame slot, so it is a `FrameSource` for `VideoPlayer`. When the
 * sender ends the stream it says how many frames were relayed and how many it dropped; `dropped`
 * then counts those too (and relayed frames that never opened), so both ends show the same figures.
 */
import { decryptFile, fileContext } from "../../crypto/file_aead.ts";
import { LatestSlot } from "../../media/frame_slot.ts";
import { jpegSize } from "../../media/jpeg_header.ts";
import type { StreamOfferInfo } from "../backend.ts";
import type { Connection } from "../session/connection.ts";
import type { FrameSource, VideoFrame } from "./video_client.ts";
import { paneFields } from "../../protocol/messages.ts";

export interface StreamOffer extends StreamOfferInfo {
}

/** The AEAD context of frame `index` of stream `sid` from `from` to `to`. */
export const frameCtx = (sid: string, index: number, from: string, to: string): Uint8Array =>
  fileContext(`video:${sid}:${index}`, from, to);

/** A stream this client accepted: frames decrypted in order of arrival, newest kept for drawing. */
export class IncomingStream implements FrameSource {
  received = 0;
  rejected = 0;
  /** Frames whose index was not above the highest opened (replayed or reordered by a relay). */
  replayed = 0;
  #highest = -1;
  readonly ended: Promise<{ reason: string; by: string }>;
  #end!: (e: { reason: string; by: string }) => void;
  readonly #slot = new LatestSlot<VideoFrame>();
  #opening: Promise<void> = Promise.resolve();
  #done = false;
  /** False once the server refused a size (a server before 0.15): not told again. */
  #panes = true;

  /**
   * `key`: the stream's frame key, or its arrival: frames that come before it wait for it, in order
   * (the accept goes out while the key is on its way; frames of a key that never came are rejected).
   */
  constructor(
    readonly conn: Connection,
    readonly offer: StreamOffer,
    readonly me: string,
    readonly key: Uint8Array | Promise<Uint8Array>,
  ) {
    this.ended = new Promise((r) => (this.#end = r));
  }

  /** The sender's figures from its end-of-stream message (null until then, or when the recipient stopped). */
  sender: { sent: number; dropped: number } | null = null;

  /** Frames replaced in the slot here, plus (once the sender ended) frames that never arrived here. */
  get dropped(): number {
    const s = this.sender;
    return this.#slot.dropped + (s ? s.dropped + Math.max(0, s.sent - this.received) : 0);
  }

  /** @internal */
  push(h: Record<string, unknown>, body: Uint8Array): void {
    if (this.#done) return;
    const index = Number(h.index), pts = Number(h.pts);
    this.#opening = this.#opening.then(async () => {
      if (!Number.isSafeInteger(index) || index <= this.#highest) {
        this.replayed++;
        return;
      }
      let jpeg: Uint8Array;
      try {
        jpeg = await decryptFile(
          await this.key,
          frameCtx(this.offer.sid, index, this.offer.from, this.me),
          body,
        );
      } catch {
        this.rejected++;
        return;
      }
      // A frame that arrived before the end is still opened and kept (it was relayed, so it counts).
      this.#highest = index; // only an authentic frame moves the mark
      this.received++;
      // The size it came at (no larger than the viewer draws), else the size the offer said.
      const size = jpegSize(jpeg) ?? { width: this.offer.width ?? 0, height: this.offer.height ?? 0 };
      this.#slot.offer({
        pts,
        index,
        rendition: "1080p",
        shownAs: size.height ? `${size.height}p` : "stream",
        ...size,
        data: jpeg,
      });
    });
  }

  /** @internal the other side stopped */
  finish(reason: string, by: string, sender?: { sent: number; dropped: number }): void {
    if (this.#done) return;
    this.#done = true;
    if (sender) this.sender = sender;
    this.#opening.then(() => {
      this.#slot.close();
      this.#end({ reason, by });
    });
  }

  next(): Promise<VideoFrame | null> {
    return this.#slot.take();
  }

  /** The viewer draws at `width` × `height` pixels now: the sender is told (it sends no larger frames). */
  async setPane(width: number, height: number): Promise<void> {
    if (this.#done || !this.#panes) return;
    const sid = this.offer.sid;
    await this.conn.request("stream.pane", { sid, ...paneFields(width, height) })
      .catch(() => this.noPanes()); // an older server, or the stream just ended
  }

  /** @internal the server takes no sizes: none is sent. */
  noPanes(): void {
    this.#panes = false;
  }

  async stop(): Promise<void> {
    if (this.#done) return;
    await this.conn.request("stream.stop", { sid: this.offer.sid }).catch(() => {});
    this.finish("stopped", this.me);
    await this.ended;
  }
}
