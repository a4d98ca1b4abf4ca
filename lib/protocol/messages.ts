/**
 * Message kinds and their schemas (valibot). Every inbound header is checked against the schema
 * of its kind before any handler sees it: unknown kinds, wrong types and unexpected keys are
 * rejected with a stable code. Requests carry an integer `id` that the reply (`ok`/`err`) echoes.
 *
 * Client → server: the `Requests` table. Server → client: `ok`, `err`, `msg`, `presence`,
 * `room`, `notice`, `role` (one's own role changed), `ping`, `bye`, plus the data frames of later features.
 */
import * as v from "valibot";
import { ErrorCode, ProtocolError } from "./errors.ts";
import { UNSAFE } from "../common/sanitize.ts";
import { quickSend } from "./send_check.ts";
import { DEVICE_LEN_MAX, DEVICE_RE, DEVICES_MAX, ID_MAX, MID_RE, NAME_MAX, TTL_MAX } from "./bounds.ts";

export const PROTOCOL_VERSION = 1;
/**
 * A `presences` frame's short form names a user alone for a login at most this long before its `at`
 * (ms): the receiver shows it online since `at`, a second early at most.
 */
export const SHORT_SINCE_MS = 1000;

const Id = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(ID_MAX));
const Name = v.pipe(v.string(), v.minLength(1), v.maxLength(NAME_MAX));
/** Most users one `users` request may name. */
export const USERS_NAMES_MAX = 1000;
const Text = (max: number) => v.pipe(v.string(), v.maxLength(max));
const Seq = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const Time = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(8.64e15));
const B64 = (max: number) => v.pipe(v.string(), v.maxLength(max), v.regex(/^[A-Za-z0-9+/]*={0,2}$/));

export const TargetSchema = v.union([
  v.strictObject({ kind: v.literal("user"), name: Name }),
  v.strictObject({ kind: v.literal("room"), name: Name }),
  v.strictObject({ kind: v.literal("broadcast") }),
]);

const IdentitySchema = v.strictObject({ sign: B64(64), dh: B64(64), sig: B64(128) });
const SpkSchema = v.strictObject({ id: Id, pub: B64(64), sig: B64(128) });
const OpkSchema = v.strictObject({ id: Id, pub: B64(64) });
/** A room membership change signed by the acting member's identity key (lib/crypto/membership.ts); relayed as is. */
const SignedChangeSchema = v.strictObject({
  change: v.strictObject({
    room: Name,
    action: v.picklist(["create", "join", "leave", "kick", "grant", "revoke"]),
    target: Text(34000),
    by: Name,
    epoch: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
    at: v.pipe(v.number(), v.minValue(0), v.maxValue(8.64e15)),
  }),
  signer: B64(64),
  sig: B64(128),
});
/** One entry of a room's membership log (lib/crypto/membership_log.ts); the server stores and relays it. */
const LogEntrySchema = v.strictObject({
  room: Name,
  epoch: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
  prev: B64(44),
  // the actions of lib/crypto/membership_log.ts LOG_ACTIONS (open rooms, issue 71.12: open, close, join)
  action: v.picklist(["create", "add", "remove", "leave", "grant", "revoke", "open", "close", "join"]),
  target: Text(34000),
  by: Name,
  at: v.pipe(v.number(), v.minValue(0), v.maxValue(8.64e15)),
  signer: B64(44),
  sig: B64(88),
});
const Change = { change: v.optional(SignedChangeSchema), log: v.optional(LogEntrySchema) };

/** The longest public description of a room (`room.public`), characters. */
export const ROOM_DESCRIPTION_MAX = 200;
/** The most open rooms one `room.directory` lists. */
export const OPEN_ROOMS_MAX = 500;

/** Text shown to other users (stream names, kick reasons): no control, bidi or separator characters. */
const ShownText = (max: number, what: string) =>
  v.pipe(
    v.string(),
    v.maxLength(max, `${what} is longer than ${max} characters`),
    v.check((s) => !UNSAFE.test(s), `${what} may not contain control, bidi or line-separator characters`),
  );
const VideoName = v.pipe(ShownText(200, "A video name"), v.minLength(1, "A video name is empty"));
/** The largest `video.play` lead a client may ask for, ms. */
export const MAX_VIDEO_LEAD_MS = 2000;
/** A pane's pixels as requests carry them (`video.play`, `stream.answer`, `stream.pane`): whole, 2 to 8192. */
const PX_MIN = 2, PX_MAX = 8192;
const Px = v.pipe(v.number(), v.integer(), v.minValue(PX_MIN), v.maxValue(PX_MAX));
/** `width` × `height` as a request may carry them (rounded, within the bounds of `Px`). */
export function paneFields(width: number, height: number): { width: number; height: number } {
  const px = (n: number) => Math.min(PX_MAX, Math.max(PX_MIN, Math.round(n)));
  return { width: px(width), height: px(height) };
}
const StreamNo = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 31));
const Sid = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/));
/** Largest file body in one `file.put` or `file.get`, bytes. */
export const FILE_BODY_MAX = 512 * 1024;
/** Longest a `file.wait` may be held before the server answers it unchanged, ms. */
export const FILE_WAIT_MAX_MS = 30_000;
/** Largest relayed file (ciphertext), bytes: 1 TiB. */
const FileSize = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 40));

/** An account's client-side password hashing (lib/crypto/account_kdf.ts): the server stores and returns it. */
const KdfSchema = v.strictObject({
  salt: v.pipe(v.string(), v.regex(/^(?:[0-9a-f]{2}){16,32}$/)),
  memoryKiB: v.pipe(v.number(), v.integer(), v.minValue(8), v.maxValue(1 << 20)),
  iterations: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16)),
  parallelism: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(8)),
});
const DeviceNo = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000));
const DeviceNo0 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000));
const DeviceAddress = v.pipe(v.string(), v.maxLength(DEVICE_LEN_MAX), v.regex(DEVICE_RE));
const LinkChannel = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/));
/**
 * The device's own key and its proof for this session (lib/crypto/prekey_verify.ts): required by a
 * device whose key the server has; older clients send neither.
 */
const DeviceAuth = { deviceKey: v.optional(B64(64)), proof: v.optional(B64(128)) };

const req = <K extends string, T extends v.ObjectEntries>(kind: K, entries: T) =>
  v.strictObject({ t: v.literal(kind), id: Id, ...entries });

/** Every request kind a client may send, with its schema. */
export const Requests = {
  /**
   * `quiet`: a one-shot scripted session (send, read, who…): the server announces no presence for it
   * and `who` does not list it. `shortPresence`: the client reads the short form of `presences` (see
   * its type). The `ok` reply gives `maxFrame`, the largest frame the server reads.
   */
  hello: req("hello", {
    v: v.pipe(v.number(), v.integer()),
    client: Text(64),
    quiet: v.optional(v.boolean()),
    shortPresence: v.optional(v.boolean()),
  }),
  /** With `kdf`, `password` is the credential derived from it; without, a password (older clients). */
  register: req("register", {
    user: Name,
    password: Text(4096),
    kdf: v.optional(KdfSchema),
    /** An admin's one-time invitation code (`--registration invite` servers). */
    invite: v.optional(v.pipe(v.string(), v.maxLength(64))),
  }),
  /** The account's `kdf` before login (a stand-in for unknown or not yet upgraded accounts). */
  kdf: req("kdf", { user: Name }),
  /** Replaces the logged-in account's credential and kdf (upgrading an account that logged in with its password). */
  "account.rekey": req("account.rekey", { old: Text(4096), password: Text(4096), kdf: KdfSchema }),
  /**
   * A password change (`parley passwd`): `old` is the current credential; every resume token of the
   * account is revoked and its other sessions end; with `remember`, the reply carries a new token.
   */
  "account.passwd": req("account.passwd", {
    old: Text(4096),
    password: Text(4096),
    kdf: KdfSchema,
    remember: v.optional(v.boolean()),
  }),
  login: req("login", {
    user: Name,
    password: v.optional(Text(4096)),
    /** A resume token from an earlier login with `remember` (64 hex digits). */
    token: v.optional(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
    remember: v.optional(v.boolean()),
    /**
     * A password login by one of the account's devices (issue 69 D1): its number (default 1), key,
     * and proof over this session's hello nonce. A valid one goes through a lockout, as a token does.
     */
    device: v.optional(DeviceNo),
    ...DeviceAuth,
  }),
  ping: req("ping", {}),
  logout: req("logout", { all: v.optional(v.boolean()) }),
  who: req("who", {}),
  whois: req("whois", { user: Name }),
  /** `names`: only these users (those that exist), e.g. a room's members; every user without it. */
  users: req("users", { names: v.optional(v.pipe(v.array(Name), v.maxLength(USERS_NAMES_MAX))) }),
  status: req("status", { status: v.picklist(["busy", "free"]) }),
  send: req("send", {
    to: TargetSchema,
    mid: v.pipe(v.string(), v.regex(MID_RE)),
    /** E2E DMs: the device addresses the body is encrypted to ("bob", "bob/2", "alice/3"). */
    devices: v.optional(v.pipe(v.array(DeviceAddress), v.maxLength(DEVICES_MAX))),
    /**
     * A signal (typing, issue 14): relayed at once to the recipients' live sessions, never stored,
     * never queued for offline users, never sent back to the sender's own sessions (`ephemeral` push).
     */
    ephemeral: v.optional(v.literal(true)),
    /** Disappearing messages (issue 39.5): the server deletes its copy this many seconds after storing it. */
    ttl: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(TTL_MAX))),
  }),
  sync: req("sync", {}),
  ack: req("ack", {
    acks: v.pipe(v.array(v.strictObject({ conv: Text(140), seq: Seq })), v.maxLength(1000)),
  }),
  /** The sender takes back a stored message (issue 39.3): offline recipients will never get it. */
  "message.unsend": req("message.unsend", { mid: v.pipe(v.string(), v.regex(MID_RE)) }),
  history: req("history", {
    to: TargetSchema,
    since: v.optional(Time),
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10000))),
    /**
     * Only messages with a lower seq (issue 68, as IRCv3 CHATHISTORY BEFORE): the page before the
     * oldest one a client holds; the next page is asked before the oldest of this one.
     */
    before: v.optional(Seq),
  }),
  "room.create": req("room.create", {
    room: Name,
    members: v.pipe(v.array(Name), v.maxLength(1000)),
    ...Change,
  }),
  "room.invite": req("room.invite", { room: Name, user: Name, ...Change }),
  "room.leave": req("room.leave", { room: Name, ...Change }),
  "room.kick": req("room.kick", { room: Name, user: Name, ...Change }),
  "room.list": req("room.list", {}),
  /** An admin signs the first log entry (epoch 0, "create") of a room made before logs (0.1.0). */
  "room.adopt": req("room.adopt", { room: Name, log: LogEntrySchema }),
  /**
   * Open rooms (issue 71.12): one joins an open room by themself, with a log entry "join" they sign;
   * refused with `room_closed` when the server holds it closed (members' clients decide by the log).
   */
  "room.join": req("room.join", { room: Name, ...Change }),
  /**
   * A room admin opens (`open: true`, log entry "open") or closes (`open: false`, "close") a room,
   * and/or sets its public description (not encrypted: anyone listing open rooms reads it; "" clears it).
   */
  "room.public": req("room.public", {
    room: Name,
    open: v.optional(v.boolean()),
    description: v.optional(ShownText(ROOM_DESCRIPTION_MAX, "A room description")),
    ...Change,
  }),
  /**
   * The server's open rooms, members or not: name, member count, public description (`member`: mine).
   * With `room`: that room alone if it is open, and as `listing` its signed log, members and admins, which a
   * joiner's client verifies before it signs its join.
   */
  "room.directory": req("room.directory", { room: v.optional(Name) }),
  "admin.kick": req("admin.kick", {
    user: Name,
    ban: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10 * 365 * 86400))),
    reason: v.optional(ShownText(200, "A kick reason")),
  }),
  "admin.kicked": req("admin.kicked", {}),
  "admin.grant": req("admin.grant", { user: Name }),
  "admin.revoke": req("admin.revoke", { user: Name }),
  "admin.unlock": req("admin.unlock", { user: Name }),
  "admin.unban": req("admin.unban", { user: Name }),
  /** A one-time invitation code for registering (`--registration invite`). */
  "admin.invite": req("admin.invite", {}),
  "keys.publish": req("keys.publish", {
    identity: IdentitySchema,
    spk: SpkSchema,
    opks: v.pipe(v.array(OpkSchema), v.maxLength(200)),
    /** This folder's device id; 0 = a newly linked device (the server assigns one); absent = 1. */
    device: v.optional(DeviceNo0),
    /** Start over: every device is removed and this identity becomes the account's (`keys reset`). */
    reset: v.optional(v.boolean()),
    name: v.optional(ShownText(64, "A device name")),
    ...DeviceAuth,
    /** A new device (`device: 0`) of an account that has devices: an existing device's approval. */
    approval: v.optional(v.strictObject({
      by: DeviceNo,
      expires: v.pipe(v.number(), v.integer(), v.minValue(0)),
      sig: B64(128),
    })),
  }),
  "keys.fetch": req("keys.fetch", { user: Name, device: v.optional(DeviceNo) }),
  "keys.count": req("keys.count", { device: v.optional(DeviceNo), ...DeviceAuth }),
  "device.list": req("device.list", {}),
  "device.remove": req("device.remove", { device: DeviceNo }),
  /** Linking: the old device opens a channel, the new one joins it; `link.msg` bodies are relayed. */
  "link.open": req("link.open", { channel: LinkChannel }),
  "link.join": req("link.join", { channel: LinkChannel }),
  "link.msg": req("link.msg", { channel: LinkChannel }),
  // Video (issue 6): server library playback, and user-to-user streams relayed by the server.
  "video.list": req("video.list", {}),
  "video.play": req("video.play", {
    name: VideoName,
    mode: v.optional(v.picklist(["adaptive", "thirds", "240p", "720p", "1080p"])),
    width: v.optional(Px),
    height: v.optional(Px),
    /** Start position, ms. */
    start: v.optional(Time),
    /**
     * How far ahead of its presentation time (ms) a frame may be sent: the client buffers and paces
     * them itself, and the server sends in bursts. The reply says the lead granted (0: frames come due).
     */
    lead: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_VIDEO_LEAD_MS))),
    /**
     * "rgb": small (half-block) frames come as raw RGB24 (width × height × 3 bytes) instead of JPEG,
     * for a client on a fast link that would rather not decode; each `video.frame` says its format.
     */
    format: v.optional(v.picklist(["jpeg", "rgb"])),
  }),
  "video.ctl": req("video.ctl", {
    stream: StreamNo,
    /** `report`: what the viewer drew lately (`fps`) and how busy that kept it (`load`), for adaptive mode. */
    op: v.picklist(["pause", "resume", "seek", "stop", "pane", "report"]),
    pts: v.optional(Time),
    width: v.optional(Px),
    height: v.optional(Px),
    fps: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(240))),
    load: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(100))),
  }),
  "stream.offer": req("stream.offer", {
    to: Name,
    name: VideoName,
    sid: Sid,
    fps: v.optional(v.pipe(v.number(), v.minValue(1), v.maxValue(120))),
    width: v.optional(Px),
    height: v.optional(Px),
    // No frame key here: user-to-user streams are end to end only (the key travels in an E2E DM).
  }),
  /** `width`, `height`: the pixels the accepting viewer draws, so the sender need not send more. */
  "stream.answer": req("stream.answer", {
    sid: Sid,
    accept: v.boolean(),
    width: v.optional(Px),
    height: v.optional(Px),
  }),
  /** The viewer of an accepted stream draws it at a new size (pixels): passed on to the sender. */
  "stream.pane": req("stream.pane", { sid: Sid, width: Px, height: Px }),
  "stream.frame": req("stream.frame", {
    sid: Sid,
    pts: Time,
    index: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 31)),
  }),
  /** The sender ending its stream says how many frames were relayed and how many it dropped (issue 14). */
  "stream.stop": req("stream.stop", { sid: Sid, sent: v.optional(Id), dropped: v.optional(Id) }),
  // Files (issue 12): end-to-end encrypted ciphertext relayed through the server's disk.
  /**
   * Appends the body (≤ FILE_BODY_MAX bytes) at `off`; the first put (off 0) creates the file. `room`:
   * `to` names a room, and every member may read the file (one upload for the whole room). `direct`
   * (at creation): the file goes straight to its recipient, the server holds only its record (no
   * body is taken, it counts toward no quota); the reply says `direct: true` for such a file.
   */
  "file.put": req("file.put", {
    fid: Sid,
    to: Name,
    size: FileSize,
    off: FileSize,
    room: v.optional(v.boolean()),
    direct: v.optional(v.boolean()),
  }),
  /** Reads up to `len` bytes from `off` (the reply's body). */
  "file.get": req("file.get", {
    fid: Sid,
    off: FileSize,
    len: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(FILE_BODY_MAX)),
  }),
  "file.list": req("file.list", {}),
  /**
   * Waits for a file to change (issue 36: hand-offs are events, not polls): answered with its
   * `have`, `size` and `state` as soon as they differ from the ones given (a body stored, the file
   * complete, taken), or after `ms` unchanged; `no_such_file` once it is gone. Its sender or a reader.
   */
  "file.wait": req("file.wait", {
    fid: Sid,
    have: FileSize,
    state: v.picklist(["uploading", "ready", "done"]),
    ms: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(FILE_WAIT_MAX_MS)),
  }),
  /**
   * The recipient has every byte and verified it: the server drops the ciphertext. Also while its
   * sender is still uploading (the file came by the direct path).
   */
  "file.done": req("file.done", { fid: Sid }),
  /** Sender or recipient cancels: the server forgets the file. */
  "file.abort": req("file.abort", { fid: Sid }),
} as const;

export type RequestKind = keyof typeof Requests;
export type Request<K extends RequestKind = RequestKind> = K extends RequestKind
  ? v.InferOutput<typeof Requests[K]>
  : never;
export type Target = v.InferOutput<typeof TargetSchema>;

/** Client-sent frames that are not requests (no id, no reply). */
export const Notes = {
  pong: v.strictObject({ t: v.literal("pong") }),
} as const;

export type Inbound = Request | v.InferOutput<typeof Notes.pong>;

/** Validates a decoded header as an inbound (client → server) message. Throws `ProtocolError`. */
export function parseInbound(header: Record<string, unknown>): Inbound {
  const t = header.t;
  const id = typeof header.id === "number" && Number.isInteger(header.id) ? header.id : undefined;
  if (typeof t !== "string") throw new ProtocolError(ErrorCode.Invalid, "Message has no kind", id);
  if (t === "pong") return parse(Notes.pong, header, id) as Inbound;
  // The hot request: its usual shape checked by hand (send_check.ts), anything else by the schema.
  if (t === "send") {
    const q = quickSend(header);
    if (q) return q as Request<"send">;
  }
  if (!Object.hasOwn(Requests, t)) {
    throw new ProtocolError(ErrorCode.UnknownKind, `Unknown message kind "${t.slice(0, 40)}"`, id);
  }
  return parse(Requests[t as RequestKind], header, id) as Inbound;
}

function parse<S extends v.GenericSchema>(schema: S, value: unknown, id?: number): v.InferOutput<S> {
  const r = v.safeParse(schema, value);
  if (r.success) return r.output;
  const issue = r.issues[0];
  const path = issue.path?.map((p) => String(p.key)).join(".") ?? "";
  throw new ProtocolError(
    ErrorCode.Invalid,
    `Invalid field ${path ? `"${path}"` : ""}: ${issue.message}`.slice(0, 200),
    id,
  );
}

/** Server → client frames (validated loosely by the client: kind and the fields it uses). */
export type Outbound =
  | { t: "ok"; id: number; [k: string]: unknown }
  | { t: "err"; id?: number; code: string; msg: string; until?: number; devices?: Record<string, number[]> }
  | { t: "msg"; seq: number; mid: string; from: string; to: Target; ts: number; conv: string; req?: number }
  /** A relayed `send` with `ephemeral: true`: no seq, never stored or acknowledged. */
  | { t: "ephemeral"; mid: string; from: string; to: Target; ts: number; conv: string }
  | { t: "presence"; user: string; online: boolean; status?: string; since?: number; addr?: string }
  /**
   * Several presence changes of one tick: `on` as [user, status, since], `off` as user names. In the
   * short form (to a client that said `shortPresence` at hello) an `on` entry may be the user's name
   * alone: status free, online since `at` (a login of that tick: its `since` is at most
   * SHORT_SINCE_MS before `at`).
   */
  | { t: "presences"; at?: number; on: ([string, string, number] | string)[]; off: string[] }
  | { t: "role"; role: "admin" | "user" }
  | { t: "devices"; user: string; devices: number[] }
  | { t: "link"; channel: string; event?: "joined" }
  | {
    t: "room";
    room: string;
    members: string[];
    admins: string[];
    change: string;
    by?: string;
    user?: string;
    signed?: unknown;
    /** the new membership log entry, when the change carried one */
    entry?: unknown;
  }
  | { t: "notice"; text: string; level: "info" | "warn" | "error" }
  | { t: "ping" }
  | { t: "bye"; code: string; reason: string; until?: number }
  // Video (body: one JPEG — raw RGB24 when `format` is "rgb" — or for stream.frame the sealed JPEG).
  | {
    t: "video.frame";
    stream: number;
    pts: number;
    rendition: string;
    index: number;
    width: number;
    height: number;
    format?: "rgb";
    /** A raw frame coded against the previous raw frame of this stream (lib/media/rgb_delta.ts). */
    delta?: true;
  }
  | { t: "video.end"; stream: number; reason: string; stats: Record<string, unknown> }
  | {
    t: "stream.offer";
    from: string;
    name: string;
    sid: string;
    fps?: number;
    width?: number;
    height?: number;
  }
  | { t: "stream.answer"; sid: string; from: string; accept: boolean; width?: number; height?: number }
  | { t: "stream.pane"; sid: string; from: string; width: number; height: number }
  | { t: "stream.frame"; sid: string; from: string; pts: number; index: number }
  | { t: "stream.stop"; sid: string; by: string; reason: string; sent?: number; dropped?: number };
