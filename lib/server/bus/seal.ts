/**
 * Sealed bus envelopes (issue 33 item 2): every event between nodes is encrypted and authenticated
 * under the cluster key that only nodes hold, so a publisher without it changes nothing and a listener
 * on the bus learns nothing (names, addresses). Composition, no new primitive:
 *
 *   wire  = 0x01 | sender id (16 random bytes, one per bus start) | seq (u64 BE, from 1) | ct ‖ tag
 *   key   = HKDF-SHA-256(ikm = cluster key (32 bytes), salt = sender id, info = "parley bus v1 " + scope)
 *   ct    = ChaCha20-Poly1305(key, nonce = 0x00000000 ‖ seq, aad = the 25 header bytes,
 *           plaintext = JSON {from: node id, ts: ms, e: event}, or a `msg` event's rows in binary:
 *           bus_rows.ts, its first byte ROWS_FORMAT or ROUTED_FORMAT where JSON's is `{`)
 *
 * Each sender has its own key (its random id as salt), so the counter nonce never repeats under one
 * key. The receiver refuses a seq not above the last one it accepted from that sender (replays, in
 * NATS order per publisher) and a `ts` more than REPLAY_WINDOW_MS from its clock; the decrypted
 * envelope is schema-checked (bus_schema.ts). Refusals are counted and logged, at most once a minute:
 * an envelope that does not open under the key (a node with another cluster key) as an ERROR, and
 * `foreignKey()` says so for the health check (`/healthz` fails: issue 69 S3) while one came within
 * FOREIGN_WINDOW_MS.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from "node:crypto";
import type { Clock } from "../../common/clock.ts";
import { systemClock } from "../../common/clock.ts";
import type { Logger } from "../../common/logger.ts";
import { LruMap } from "../../common/lru.ts";
import { cryptoRandom, type RandomBytes } from "../../common/random.ts";
import { fromHex, toHex } from "../../common/bytes.ts";
import type { BusEvent } from "./bus_event.ts";
import { checkEnvelope } from "./bus_schema.ts";
import { decodeRows, encodeRows, ROUTED_FORMAT, ROWS_FORMAT, RowsRefused } from "./bus_rows.ts";

export const CLUSTER_KEY_BYTES = 32;
/** An envelope whose time is further than this from the receiver's clock is refused. */
export const REPLAY_WINDOW_MS = 30_000;
/** How long after an envelope under another key the health check still fails, ms. */
export const FOREIGN_WINDOW_MS = 60_000;
/** The refusal of an envelope that does not open under this node's key. */
const BAD_KEY = "bad key or tampered";
const VERSION = 1;
const HEADER = 1 + 16 + 8;
const TAG = 16;
/** Senders remembered (key and last seq); the least recently heard is forgotten first. */
const SENDERS = 1024;

export interface SealOptions {
  /** The cluster key: 32 bytes, the same on every node of the cluster. */
  key: Uint8Array;
  /**
   * Keys also opened, never sealed with: a rotation under way (`parseClusterKeys`: the key file's
   * further lines), so nodes can move to a new key one restart at a time.
   */
  accept?: readonly Uint8Array[];
  clock?: Clock;
  random?: RandomBytes;
  /** Where refused envelopes are reported (throttled). */
  log?: Logger;
}

export type Opened = { from: string; e: BusEvent };

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
/**
 * The quick decoder (the runtime's fast path; the strict one cost ~5× as much: a batch's envelope of
 * 900 rows, ~160 KB, on every node, issue 73); text with a replacement character is decoded again
 * strictly, so bad UTF-8 is still refused.
 */
const quick = new TextDecoder();

export class BusSeal {
  readonly #key: Uint8Array;
  readonly #accept: readonly Uint8Array[];
  readonly #info: Uint8Array;
  readonly #id: Uint8Array;
  readonly #idHex: string;
  readonly #own: Uint8Array;
  #seq = 0n;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #senders = new LruMap<string, { key: Uint8Array; seq: bigint }>(SENDERS);
  /** Envelopes refused since this seal was made, by reason. */
  readonly refused = new Map<string, number>();
  readonly #unlogged = new Map<string, number>();
  #lastLog = -Infinity;
  /** When the last envelope under another key came, and how many came since FOREIGN_WINDOW_MS before it. */
  #foreign = { at: -Infinity, n: 0 };

  constructor(o: SealOptions, readonly scope: string) {
    if (o.key.length !== CLUSTER_KEY_BYTES) {
      throw new Error(`the cluster key must be ${CLUSTER_KEY_BYTES} bytes, got ${o.key.length}`);
    }
    this.#key = o.key.slice();
    for (const k of o.accept ?? []) {
      if (k.length !== CLUSTER_KEY_BYTES) throw new Error(`a cluster key must be ${CLUSTER_KEY_BYTES} bytes`);
    }
    this.#accept = (o.accept ?? []).map((k) => k.slice());
    this.#info = enc.encode(`parley bus v1 ${scope}`);
    this.#id = (o.random ?? cryptoRandom)(16);
    this.#idHex = toHex(this.#id);
    this.#own = this.#derive(this.#id);
    this.#clock = o.clock ?? systemClock;
    this.#log = o.log;
  }

  #derive(id: Uint8Array, key = this.#key): Uint8Array {
    return new Uint8Array(hkdfSync("sha256", key, id, this.#info, 32));
  }

  /** The plaintext of `wire` under `key` (a sender's derived key), or null when it does not open. */
  #decrypt(wire: Uint8Array, head: Uint8Array, key: Uint8Array): Uint8Array | null {
    try {
      const d = createDecipheriv("chacha20-poly1305", key, nonce(head), { authTagLength: TAG });
      d.setAAD(head, { plaintextLength: wire.length - HEADER - TAG });
      d.setAuthTag(wire.subarray(wire.length - TAG));
      const a = d.update(wire.subarray(HEADER, wire.length - TAG));
      d.final(); // throws on a wrong key or a changed byte
      return new Uint8Array(a);
    } catch {
      return null;
    }
  }

  /** The wire bytes of `e` sent by `from`. */
  seal(from: string, e: BusEvent): Uint8Array {
    const seq = ++this.#seq;
    const head = new Uint8Array(HEADER);
    head[0] = VERSION;
    head.set(this.#id, 1);
    new DataView(head.buffer).setBigUint64(17, seq);
    const ts = this.#clock.now();
    // Carried rows go binary (bus protocol 3: bus_rows.ts); every other event as JSON.
    const plain = e.t === "msg" && e.packed
      ? encodeRows({ from, ts, seq: e.seq, rows: e.packed, ...routeOf(e) })
      : enc.encode(JSON.stringify({ from, ts, e }));
    const c = createCipheriv("chacha20-poly1305", this.#own, nonce(head), { authTagLength: TAG });
    c.setAAD(head, { plaintextLength: plain.length });
    const body = c.update(plain);
    c.final();
    const out = new Uint8Array(HEADER + body.length + TAG);
    out.set(head);
    out.set(body, HEADER);
    out.set(c.getAuthTag(), HEADER + body.length);
    return out;
  }

  /** The envelope in `wire`, or null (refused: counted and logged) when it is not a fresh one of ours. */
  open(wire: Uint8Array): Opened | null {
    if (wire.length < HEADER + TAG + 2 || wire[0] !== VERSION) return this.#refuse("not a sealed envelope");
    const head = wire.subarray(0, HEADER);
    const id = head.subarray(1, 17);
    const name = toHex(id);
    if (name === this.#idHex) return null; // our own echo
    const seq = new DataView(wire.buffer, wire.byteOffset, HEADER).getBigUint64(17);
    const known = this.#senders.get(name);
    if (known && seq <= known.seq) return this.#refuse("replayed");
    // A sender met before: the key it opened under; else this node's key, then the rotation's others.
    const keys = known ? [known.key] : [this.#derive(id), ...this.#accept.map((k) => this.#derive(id, k))];
    let key: Uint8Array | undefined, plain: Uint8Array | null = null;
    for (const k of keys) if ((plain = this.#decrypt(wire, head, key = k))) break;
    if (!plain || !key) return this.#refuse(BAD_KEY);
    const ok = plainEnvelope(plain);
    if (typeof ok === "string") return this.#refuse(ok);
    if (Math.abs(ok.ts - this.#clock.now()) > REPLAY_WINDOW_MS) return this.#refuse("stale");
    this.#senders.set(name, { key, seq });
    return { from: ok.from, e: ok.e };
  }

  /**
   * Why this node is not in its cluster, or null: envelopes that do not open under its key came within
   * FOREIGN_WINDOW_MS (a node with another cluster key: kicks, bans and device removals from it, or
   * to it, do not arrive).
   */
  foreignKey(): string | null {
    const f = this.#foreign;
    if (this.#clock.now() - f.at > FOREIGN_WINDOW_MS) return null;
    return `${f.n} bus envelopes under another cluster key in the last minute: every node needs the same cluster.key`;
  }

  #refuse(why: string): null {
    this.refused.set(why, (this.refused.get(why) ?? 0) + 1);
    this.#unlogged.set(why, (this.#unlogged.get(why) ?? 0) + 1);
    const now = this.#clock.now();
    if (why === BAD_KEY) {
      const f = this.#foreign;
      this.#foreign = { at: now, n: now - f.at > FOREIGN_WINDOW_MS ? 1 : f.n + 1 };
    }
    if (this.#log && now - this.#lastLog >= 60_000) {
      this.#lastLog = now;
      const counts = [...this.#unlogged].map(([k, n]) => `${k}: ${n}`).join(", ");
      const fields = { counts, hint: refusalHint([...this.#unlogged.keys()]) };
      // Another cluster key: this node is cut off from the controls (issue 69 S3), an error.
      if (this.#unlogged.has(BAD_KEY)) this.#log.error("bus.refused", fields);
      else this.#log.warn("bus.refused", fields);
      this.#unlogged.clear();
    }
    return null;
  }
}

/**
 * What the `bus.refused` log line suggests for these reasons: a `stale` envelope (sealed more than
 * 30 s before it was opened) most often comes from a node or NATS that was paused or cut off for
 * longer (issue 74; what it missed is read from the store again), else from a clock that is off;
 * the other refusals from another cluster key (or a stranger on the bus).
 */
function refusalHint(whys: readonly string[]): string {
  const stale = "an event sealed more than 30 s before it arrived is refused as stale: a node or NATS " +
    "paused or cut off (partitioned) for longer than that — messages are read from the store again, " +
    "so nothing is lost —, or a node's clock more than 30 s off";
  const key = "every node of a cluster needs the same cluster key and a clock within 30 s";
  const parts = [
    ...(whys.includes("stale") ? [stale] : []),
    ...(whys.some((w) => w !== "stale") ? [key] : []),
  ];
  return `${parts.join("; ")} (README: several nodes)`;
}

/**
 * The envelope an opened plaintext holds, or why it is refused: JSON (`{`…), schema-checked, or a
 * `msg` event's rows in binary (bus_rows.ts ROWS_FORMAT; a later format byte is refused by name).
 */
function plainEnvelope(plain: Uint8Array): { from: string; ts: number; e: BusEvent } | string {
  if (plain[0] !== 0x7b) {
    const r = decodeRows(plain);
    if (r instanceof RowsRefused) {
      // A format byte this node does not know comes from a newer node (bus_event.ts BUS_PROTOCOL).
      return plain[0] === ROWS_FORMAT || plain[0] === ROUTED_FORMAT
        ? `bad rows: ${r.message}`
        : "an envelope format of a newer version: upgrade this node";
    }
    const e: Extract<BusEvent, { t: "msg" }> = { t: "msg", seq: r.seq, packed: r.rows };
    if (r.route) e.skip = r.route.skip, e.ep = r.route.ep;
    return { from: r.from, ts: r.ts, e };
  }
  let env: unknown;
  try {
    const text = quick.decode(plain);
    env = JSON.parse(text.includes("\uFFFD") ? dec.decode(plain) : text);
  } catch {
    return "not JSON";
  }
  return checkEnvelope(env) ?? "invalid event";
}

/** A routed `msg` event's epoch and left-out seqs, as bus_rows.ts carries them (none when not routed). */
function routeOf(e: Extract<BusEvent, { t: "msg" }>): { route?: { ep: number; skip: readonly number[] } } {
  return e.ep === undefined ? {} : { route: { ep: e.ep, skip: e.skip ?? [] } };
}

function nonce(head: Uint8Array): Uint8Array {
  const n = new Uint8Array(12);
  n.set(head.subarray(17, 25), 4);
  return n;
}

/** A new random cluster key as the text of a key file (64 hex digits and a newline). */
export function newClusterKeyText(random: RandomBytes = cryptoRandom): string {
  return toHex(random(CLUSTER_KEY_BYTES)) + "\n";
}

/** The key in a key file's text (its first key: what this node seals with), or an error naming the problem. */
export function parseClusterKey(text: string): Uint8Array {
  return parseClusterKeys(text)[0]!;
}

/**
 * The keys of a key file's text: a line of 64 hex digits each (blank lines and `#` lines ignored). The
 * first is the one this node seals with; the others are also opened — a rotation under way: add the
 * new key as a second line on every node (a restart each), then make it the first on every node, then
 * drop the old line. At no step does a node refuse another's envelopes or sidecars.
 */
export function parseClusterKeys(text: string): Uint8Array[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (!lines.length || lines.some((l) => !/^[0-9a-fA-F]{64}$/.test(l))) {
    throw new Error(
      "a cluster key file holds lines of 64 hex digits (32 bytes each; the first seals, the others are " +
        "also opened during a rotation); make one with: openssl rand -hex 32",
    );
  }
  return lines.map((l) => fromHex(l.toLowerCase()));
}
