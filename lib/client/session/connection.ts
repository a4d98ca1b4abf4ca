/**
 * A client connection: frames over a pinned TLS socket, requests matched to replies by id,
 * `msg` frames tagged with a request id collected into that request's result (history), every
 * other server frame delivered to the push listener. Answers server pings. Failures reject
 * with `BackendError` carrying the server's stable code; a ban's or lockout's end in the server's
 * sentence is shown as local time and how long until it.
 */
import { release, writeAll } from "../../common/bytes.ts";
import { encodeFrame, type Frame, FrameDecoder, frameHead } from "../../protocol/frame.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { connectTls, type ServerConn } from "../../net/tls.ts";
import { BackendError } from "../backend.ts";
import { serverHeaderOk } from "./wire_events.ts";
import { type Clock, systemClock } from "../../common/clock.ts";
import { localizeUntil } from "../../common/parse_time.ts";

/** The `until` of an `err` or `bye` (a ban's or lockout's end), when the server gave one. */
/** A request body at least this long is written after its frame's head as it is (not copied into a frame). */
const WRITE_APART = 64 * 1024;
/** A frame still lacking at least this many bytes is read in place (`FrameDecoder.room`). */
const READ_IN_PLACE = 16 * 1024;
const untilOf = (h: Record<string, unknown>) => typeof h.until === "number" ? h.until : undefined;

export interface Reply {
  header: Record<string, unknown>;
  items: Frame[];
  /** The reply frame's body (file data for `file.get`; empty otherwise). */
  body: Uint8Array;
}

interface Waiter {
  resolve: (r: Reply) => void;
  reject: (e: unknown) => void;
  items: Frame[];
}

export type PushListener = (f: Frame) => void;

export class Connection {
  #nextId = 1;
  readonly #waiting = new Map<number, Waiter>();
  #closed = false;
  #closeReason: BackendError | null = null;
  readonly #listeners = new Set<PushListener>();
  readonly done: Promise<void>;
  #writeChain: Promise<unknown> = Promise.resolve();

  readonly #now: () => number;

  private constructor(readonly conn: ServerConn, maxFrame: number, clock: Clock) {
    this.#now = () => clock.now();
    // The socket's pieces are the decoder's (readChunk): freed once copied into a frame.
    this.done = this.#readLoop(new FrameDecoder(maxFrame, { owns: true }));
  }

  static async open(
    o: { host: string; port: number; caPem: string; maxFrame?: number; clock?: Clock },
  ): Promise<Connection> {
    const conn = await connectTls({ host: o.host, port: o.port, caPem: o.caPem });
    return new Connection(conn, o.maxFrame ?? 16 * 1024 * 1024, o.clock ?? systemClock);
  }

  onPush(l: PushListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a request and resolves with the `ok` reply; rejects with `BackendError` on `err`. */
  request(
    t: string,
    fields: Record<string, unknown> = {},
    body?: Uint8Array | readonly Uint8Array[],
  ): Promise<Reply> {
    if (this.#closed) return Promise.reject(this.#closeReason ?? new BackendError("closed", "Not connected"));
    const id = this.#nextId++;
    const p = new Promise<Reply>((resolve, reject) => this.#waiting.set(id, { resolve, reject, items: [] }));
    const parts = body === undefined ? [] : body instanceof Uint8Array ? [body] : body;
    let n = 0;
    for (const b of parts) n += b.length;
    // A big body (a file's chunks) follows its head as it is, never copied into one frame.
    if (n >= WRITE_APART) this.#write([frameHead({ ...fields, t, id }, n), ...parts]);
    else this.#write(encodeFrame({ ...fields, t, id }, parts), true);
    return p;
  }

  /** Sends a frame that expects no reply. */
  note(h: Record<string, unknown>): void {
    if (!this.#closed) this.#write(encodeFrame(h));
  }

  /** Raw bytes, for tests of hostile input. */
  writeRaw(b: Uint8Array): Promise<void> {
    return this.#write(b);
  }

  /** Writes `b` (or its parts, in order) after the writes before it; `own`: made here, freed once written. */
  #write(b: Uint8Array | readonly Uint8Array[], own = false): Promise<void> {
    const parts = b instanceof Uint8Array ? [b] : b;
    const p = this.#writeChain.then(async () => {
      for (const part of parts) await writeAll(this.conn, part);
      if (own) { for (const part of parts) release(part); }
    });
    this.#writeChain = p.catch(() => {});
    return p.catch((e) =>
      this.#fail(new BackendError("io", `Connection lost: ${e instanceof Error ? e.message : e}`))
    );
  }

  async #readLoop(decoder: FrameDecoder): Promise<void> {
    try {
      for (;;) {
        // A big frame under way (a file's data) is read straight into its own buffer where the
        // socket can (DenoConn): never copied, freed by its last user.
        const room = this.conn.readInto ? decoder.room(READ_IN_PLACE) : null;
        if (room) {
          const n = await this.conn.readInto!(room);
          if (n === null) break;
          for (const f of decoder.filled(n)) this.#onFrame(f);
          continue;
        }
        const chunk = await this.conn.readChunk(); // as received, no copy
        if (chunk === null) break;
        for (const f of decoder.push(chunk)) this.#onFrame(f);
      }
      this.#fail(new BackendError("closed", "The server closed the connection"));
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.#fail(new BackendError(e.code, `Bad data from the server: ${e.message}`));
      } else this.#fail(new BackendError("io", "The connection to the server was lost"));
    }
  }

  #onFrame(f: Frame): void {
    const h = f.header;
    if (!serverHeaderOk(h)) {
      // Malformed: not handled; a request it answers fails now instead of waiting for its timeout.
      const w = typeof h.id === "number" ? this.#waiting.get(h.id) : undefined;
      if (w) {
        this.#waiting.delete(h.id as number);
        w.reject(new BackendError("bad_reply", "The server sent a malformed reply"));
      }
      return;
    }
    if (h.t === "ok" || h.t === "err") {
      const id = h.id as number;
      const w = this.#waiting.get(id);
      if (w) {
        this.#waiting.delete(id);
        if (h.t === "ok") w.resolve({ header: h, items: w.items, body: f.body });
        else {
          const { t: _t, id: _id, code, msg, until: _until, ...detail } = h;
          const until = untilOf(h);
          w.reject(
            new BackendError(String(code), localizeUntil(String(msg), until, this.#now()), until, detail),
          );
        }
        return;
      }
    } else if (h.t === "msg" && typeof h.req === "number") {
      const w = this.#waiting.get(h.req);
      if (w) return void w.items.push(f);
    } else if (h.t === "ping") {
      this.note({ t: "pong" });
      return;
    } else if (h.t === "bye") {
      const until = untilOf(h);
      this.#closeReason = new BackendError(
        String(h.code),
        localizeUntil(String(h.reason), until, this.#now()),
        until,
      );
    }
    for (const l of this.#listeners) l(f);
  }

  #fail(e: BackendError): void {
    if (this.#closed) return;
    this.#closed = true;
    const reason = this.#closeReason ?? e;
    this.#closeReason = reason;
    for (const w of this.#waiting.values()) w.reject(reason);
    this.#waiting.clear();
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  /** The reason the connection ended (a server `bye` wins over a plain close). */
  get closeReason(): BackendError | null {
    return this.#closeReason;
  }

  async close(): Promise<void> {
    this.#fail(new BackendError("closed", "Connection closed"));
    await this.done;
  }
}
