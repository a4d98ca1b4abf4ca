/**
 * User-to-user video streams (client side). The sender offers a local file (`stream.offer`) and
 * starts its own ffmpeg paused at once, playing it only after the recipient accepted (`stream.answer`); each JPEG is sealed
 * with the chunked file AEAD (lib/crypto/file_aead.ts) under a random 32-byte key, bound to the
 * stream id, frame index, sender and recipient, and sent as `stream.frame` with one frame in
 * flight (the server's reply says whether it was relayed). The recipient opens each frame and keeps
 * the newest in a latest-frame slot (an `IncomingStream` is a `FrameSource` for `VideoPlayer`).
 * The viewer says the pixels it draws when it accepts, and again when its pane changes size
 * (`stream.pane`): the sender's ffmpeg makes frames no larger than that (nor than it offered).
 * Either side may stop. Key delivery is end to end only: the `keyVia` channel (an end-to-end
 * encrypting codec, see stream_key.ts) carries the key in an encrypted DM control message and the
 * offer carries none (the protocol has no field for it); a client without a channel can neither
 * send nor accept a stream ("no_keys"). The receiving half (`IncomingStream`, the offer type and the frame
 * context) lives in incoming_stream.ts and is re-exported here; the sending loop in stream_send.ts.
 */
import { randomId } from "../../common/random.ts";
import type { Frame } from "../../protocol/frame.ts";
import { normalizeName } from "../../protocol/names.ts";
import { BackendError } from "../backend.ts";
import type { Connection } from "../session/connection.ts";
import { type BlockOps, refuseBlocked } from "../e2e/mod.ts";
import { IncomingStream, type StreamOffer } from "./incoming_stream.ts";
import {
  basename,
  type Halt,
  type ReadiedFile,
  readyFile,
  relayFrames,
  type SendOptions,
  type SendResult,
} from "./stream_send.ts";
import type { StreamKeyChannel } from "./stream_key.ts";
import type { Pixels } from "./stream_send.ts";
import { paneFields } from "../../protocol/messages.ts";

export { IncomingStream } from "./incoming_stream.ts";
export type { StreamOffer } from "./incoming_stream.ts";

export interface PeerStreamsOptions {
  /** The end-to-end channel for frame keys, looked up when needed (null: streams are refused). */
  keyVia?: () => StreamKeyChannel | null;
  /** How long `accept()` waits for the key to arrive end to end (default 10 s). */
  keyWaitMs?: number;
  /** The users this client blocked (e2e/blocks.ts): their offers are refused unseen, streams to them refused. */
  blocks?: () => BlockOps | undefined;
}

/** Streams between users are end to end only; a client without E2E keys can neither send nor accept. */
function noKeys(): BackendError {
  return new BackendError(
    "no_keys",
    "Streams are end-to-end encrypted only, and this client has no end-to-end keys",
  );
}

export class PeerStreams {
  readonly #pending = new Map<string, StreamOffer>();
  readonly #offerListeners = new Set<(o: StreamOffer) => void>();
  readonly #withdrawListeners = new Set<(o: StreamOffer, by: string) => void>();
  readonly #answers = new Map<string, (accept: boolean, viewer?: Pixels) => void>();
  /** The running sends' ffmpeg, told when their viewer's pane changes size. */
  readonly #panes = new Map<string, (viewer: Pixels) => void>();
  readonly #stops = new Map<string, (by: string, reason: string) => void>();
  readonly #incoming = new Map<string, IncomingStream>();
  readonly #off: () => void;

  constructor(readonly conn: Connection, readonly me: string, readonly opts: PeerStreamsOptions = {}) {
    this.#off = conn.onPush((f) => this.#onPush(f));
    conn.done.then(() => {
      for (const s of this.#incoming.values()) s.finish("disconnected", me);
      for (const stop of this.#stops.values()) stop(me, "disconnected");
    });
  }

  close(): void {
    this.#off();
  }

  /** Offers waiting for an answer. */
  get pending(): StreamOffer[] {
    return [...this.#pending.values()];
  }

  onOffer(l: (o: StreamOffer) => void): () => void {
    this.#offerListeners.add(l);
    return () => this.#offerListeners.delete(l);
  }

  /** Called when a pending offer is withdrawn (the sender stopped or left before an answer). */
  onWithdrawn(l: (o: StreamOffer, by: string) => void): () => void {
    this.#withdrawListeners.add(l);
    return () => this.#withdrawListeners.delete(l);
  }

  /** The first offer (from `from`, if given) already pending or arriving within `timeoutMs`. */
  waitOffer(from?: string, timeoutMs = 60_000): Promise<StreamOffer> {
    const want = from === undefined ? null : normalizeName(from) ?? from;
    const fits = (o: StreamOffer) => want === null || o.from === want;
    const have = this.pending.find(fits);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        off();
        reject(new BackendError("timeout", `No stream was offered${from ? ` by ${from}` : ""} in time`));
      }, timeoutMs);
      const off = this.onOffer((o) => {
        if (!fits(o)) return;
        clearTimeout(t);
        off();
        resolve(o);
      });
    });
  }

  /**
   * Accepts `o`; `viewer`: the pixels it will be drawn at (the sender then sends no larger frames).
   * The answer goes while the frame key is still awaited (issue 75: the sender's first frame is on
   * its way meanwhile, and waits here for the key); a key that does not come stops the stream.
   */
  async accept(o: StreamOffer, viewer?: Pixels): Promise<IncomingStream> {
    const channel = this.opts.keyVia?.() ?? null;
    if (!channel) throw noKeys();
    const key = channel.receive(o.from, o.sid, this.opts.keyWaitMs ?? 10_000);
    key.catch(() => {}); // awaited below, once answered
    const s = new IncomingStream(this.conn, o, this.me, key);
    this.#incoming.set(o.sid, s);
    s.ended.then(() => this.#incoming.delete(o.sid));
    const size = viewer ? paneFields(viewer.width, viewer.height) : {};
    await this.conn.request("stream.answer", { sid: o.sid, accept: true, ...size }).catch((e) => {
      // A server before 0.15 knows no size in an answer: answered again without it.
      if (!viewer || !(e instanceof BackendError) || e.code !== "invalid") throw e;
      s.noPanes();
      return this.conn.request("stream.answer", { sid: o.sid, accept: true });
    });
    this.#pending.delete(o.sid);
    try {
      await key;
    } catch (e) {
      await s.stop(); // accepted, but its frames could never be opened
      throw e;
    }
    return s;
  }

  /** Offer `o` is told to the listeners, or refused unseen when its sender is blocked here. */
  async #offered(o: StreamOffer): Promise<void> {
    const blocks = this.opts.blocks?.();
    const blocked = blocks ? await blocks.has(o.from).catch(() => false) : false;
    if (blocked) return void await this.refuse(o).catch(() => {});
    this.#pending.set(o.sid, o);
    for (const l of this.#offerListeners) l(o);
  }

  async refuse(o: StreamOffer): Promise<void> {
    this.#pending.delete(o.sid);
    await this.conn.request("stream.answer", { sid: o.sid, accept: false });
  }

  /**
   * Offers `file` to `to`, waits up to `waitMs` for the answer, then streams it; resolves when the
   * file ended, either side stopped, or the offer was refused. `onAccepted` runs once accepted.
   */
  async send(
    to: string,
    file: string,
    o: SendOptions & {
      waitMs?: number;
      onAccepted?: () => void;
      /** Runs once the file was read as a video and the offer reached the server. */
      onOffered?: () => void;
      signal?: AbortSignal;
      /** `file` probed and its ffmpeg started by the caller (`readyFile`); stopped here if refused. */
      readied?: Promise<ReadiedFile>;
    },
  ): Promise<SendResult> {
    const peer = normalizeName(to);
    const channel = this.opts.keyVia?.() ?? null;
    try {
      await refuseBlocked(this.opts.blocks?.(), { kind: "user", name: peer ?? to });
      if (!channel) throw noKeys(); // end to end only: the frame key never travels in clear
      if (!peer) throw new BackendError("usage", `"${to}" is not a valid user name`);
    } catch (e) {
      await o.readied?.then((r) => r.stream.stop(), () => {}); // the caller's ffmpeg, if it started one
      throw e;
    }
    // Readied by the caller (the `stream` command, while it logged in), or now: either way before the
    // offer goes, its start overlapping the offer's round trip and the viewer's accept (issue 75).
    const { info, offered, stream: ready } = await (o.readied ?? readyFile(file, o));
    const { width, height } = offered;
    const sid = randomId(undefined, 12);
    const key = crypto.getRandomValues(new Uint8Array(32));
    let viewer: Pixels | undefined;
    const answered = new Promise<boolean>((r) => this.#answers.set(sid, (a, v) => (viewer = v, r(a))));
    const halt: Halt = {};
    const stopped = new Promise<void>((r) =>
      this.#stops.set(sid, (by, reason) => (halt.by = { by, reason }, r()))
    );
    // The key goes out with the offer, not one round trip after it: the viewer's accept does not
    // wait for it (issue 75). An offer the server refuses still says its own error.
    const keyed = channel.send(peer, sid, key).then(() => null, (e: unknown) => ({ e }));
    await this.#offer(sid, peer, file, { info, offered, stream: ready }, keyed, o);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const accepted = await Promise.race([
      answered,
      stopped.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), o.waitMs ?? 60_000))),
      new Promise<boolean>((r) => o.signal?.addEventListener("abort", () => r(false), { once: true })),
    ]);
    clearTimeout(timer);
    this.#answers.delete(sid);
    if (!accepted) {
      await ready.stop();
      this.#stops.delete(sid);
      if (!halt.by) await this.conn.request("stream.stop", { sid }).catch(() => {});
      return { sent: 0, relayed: 0, dropped: 0, reason: "refused" };
    }
    o.onAccepted?.();
    const forget = () => (this.#stops.delete(sid), this.#panes.delete(sid));
    return await relayFrames(
      this.conn,
      { sid, key, me: this.me, peer, file, info, width, height, viewer },
      ready,
      o,
      {
        stopped,
        halt,
        forget,
        resized: (to) => this.#panes.set(sid, to),
      },
    );
  }

  /**
   * Offers `file` as `sid` to `peer`, its ffmpeg readied (started, paused) already. An offer the
   * server refuses, or a key that could not be sent, stops that ffmpeg (and withdraws the offer) and
   * throws.
   */
  async #offer(
    sid: string,
    peer: string,
    file: string,
    { info, offered: size, stream: ready }: ReadiedFile,
    keyed: Promise<{ e: unknown } | null>,
    o: { onOffered?: () => void },
  ): Promise<void> {
    let offered = false;
    try {
      const name = basename(file).slice(0, 200);
      await this.conn.request("stream.offer", { to: peer, name, sid, fps: info.fps, ...size });
      offered = true;
      o.onOffered?.();
      const failed = await keyed;
      if (failed) throw failed.e;
    } catch (e) {
      this.#answers.delete(sid);
      this.#stops.delete(sid);
      await ready.stop();
      if (offered) await this.conn.request("stream.stop", { sid }).catch(() => {});
      throw e;
    }
  }

  #onPush(f: Frame): void {
    const h = f.header;
    switch (h.t) {
      case "stream.offer": {
        const name = typeof h.name === "string" ? h.name : "";
        const o: StreamOffer = { sid: String(h.sid), from: String(h.from), name };
        for (const k of ["fps", "width", "height"] as const) {
          if (typeof h[k] === "number") o[k] = h[k] as number;
        }
        void this.#offered(o);
        break;
      }
      case "stream.answer":
        this.#answers.get(String(h.sid))?.(h.accept === true, pixels(h));
        break;
      case "stream.pane": {
        const v = pixels(h);
        if (v) this.#panes.get(String(h.sid))?.(v);
        break;
      }
      case "stream.frame":
        this.#incoming.get(String(h.sid))?.push(h, f.body);
        break;
      case "stream.stop": {
        const sid = String(h.sid);
        const was = this.#pending.get(sid);
        this.#pending.delete(sid);
        if (was) { for (const l of this.#withdrawListeners) l(was, String(h.by)); }
        this.#stops.get(sid)?.(String(h.by), String(h.reason));
        const counts = typeof h.sent === "number" && typeof h.dropped === "number"
          ? { sent: h.sent, dropped: h.dropped }
          : undefined;
        this.#incoming.get(sid)?.finish(String(h.reason), String(h.by), counts);
        break;
      }
    }
  }
}

/** The viewer's pixels a push says (whole numbers, 2 or more), if it says them. */
function pixels(h: Record<string, unknown>): Pixels | undefined {
  const ok = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 2;
  return ok(h.width) && ok(h.height) ? { width: h.width, height: h.height } : undefined;
}
