/**
 * How the conversation core (`ChatClient`) sends: functions over its `SendHost`, no state of their
 * own but the order chain the core keeps.
 * - `sendText`: checks the size, writes the text to the outbox, seals it (after the room changes
 *   seen so far; the sender keys a seal answered go first, `handOut`) and sends it through the
 *   link; sealed again when devices changed (`sealAndSend`, e2e/). `handText` is the same answered
 *   once the carrier took it, the other end's answer to come (a peer channel: written, acked later;
 *   `handOver`), which a peer's lane, any number unacknowledged, hands on. With `keep`, a send cut off by a
 *   lost connection stays in the outbox (kept_sends.ts sends it again with the same `mid`);
 *   otherwise, and after any answer from the server, it is dropped (engine_outbox.ts decides,
 *   outbox.ts carries it out).
 * - The UI's kept sends are kept_sends.ts (`KeptSends`, a lane of send_lanes.ts), which sends each
 *   entry with `sendText` (`keep`, its own mid) under session/rate_wait.ts's `paced`.
 * - `textFacts`, `sentMessage`, `settleSent`: what a text's seal carries beside it, the text as the
 *   other end took it, and its move from the outbox into the history, numbered as the session numbers
 *   it; `sendFailed`, an entry's failed send as the outbox decides with the session's facts — both
 *   modes' (chat_client.ts settles with them what a peer holds; message_changes.ts a queued change).
 * - `sendSignal`: typing and watch-together signals, sealed and sent as the link's `signal` (never
 *   stored); a DM's sealed again when devices changed, as a message.
 */
import { randomId } from "../../common/random.ts";
import { utf8 } from "../../common/bytes.ts";
import { BackendError, type ChatMessage, type Target } from "../backend.ts";
import { handOut, refuseBlocked, sealAndSend, type Sealed, startsAt, type TextOptions } from "../e2e/mod.ts";
import { wire } from "../session/wire_events.ts";
import type { ClientHost } from "./client_host.ts";
import type { ChatSession } from "./chat_session.ts";
import type { Outbox } from "./outbox.ts";
import type { LocalStore, PendingMessage } from "../session/local_store.ts";
import { outboxStep } from "./engine_outbox.ts";
import { checkFrameSize, checkTextSize } from "./message_size.ts";
import type { Link, LinkAck, LinkSendOptions } from "./link.ts";

/** What sending needs of the core beyond `ClientHost`. */
export interface SendHost extends ClientHost {
  /** One's messages until the server takes them (none without a local store). */
  readonly outgoing: Outbox | null;
  /** Resolves once everything received so far is opened (room changes seen so far apply first). */
  opened(): Promise<unknown>;
}

/**
 * Refuses a text to a user blocked here, or too long for one `send` frame of this server, before it is queued (issue 34.1):
 * measured against the copies the codec seals it into (a DM: one per device), or one copy when
 * those cannot be learnt now (offline); the sealed frame is checked again before it is written.
 */
export async function checkSendable(h: SendHost, to: Target, text: string): Promise<void> {
  await refuseBlocked(h.codec.blocks, to); // nor to a user blocked here (e2e/blocks.ts)
  const enc = h.codec.encrypted;
  checkTextSize(text, h.session.maxFrame, 1, enc);
  if (!h.codec.sealCopies) return;
  const copies = await h.codec.sealCopies(to).catch(() => 1);
  checkTextSize(text, h.session.maxFrame, copies, enc);
}

/**
 * What a text's seal carries besides its text, in both modes: the message it answers by its id and, when held here, its sender (issue 69 N2), the
 * conversation's disappearing time when it was written (`ttl`, 0: none), and when that was (`at`:
 * its edit window and disappearing time start there on every end, however long it waited: N4).
 */
export function textFacts(
  store: LocalStore | null,
  replyTo: string | undefined,
  ttl: number,
  at: number,
): TextOptions & { at: number } {
  const by = replyTo ? store?.byMidAny(replyTo)?.from : undefined;
  return { ...(replyTo ? { replyTo } : {}), ...(by ? { replyBy: by } : {}), ...(ttl ? { ttl } : {}), at };
}

/**
 * My text `s`, sealed with `f` (`textFacts`), as the other end took it (`r`: the seq and time it
 * gave), in both modes: what moves from the outbox into the history.
 */
export function sentMessage(
  me: string,
  s: Pick<ChatMessage, "mid" | "to" | "text">,
  f: TextOptions & { at: number },
  r: { seq: number; ts: number },
): ChatMessage {
  return {
    seq: r.seq,
    mid: s.mid,
    ts: r.ts,
    from: me,
    to: s.to,
    text: s.text,
    ...(f.replyTo ? { replyTo: f.replyTo } : {}),
    ...(f.replyBy ? { replyBy: f.replyBy } : {}),
    ...(f.ttl ? { expires: startsAt(r.ts, f.at) + f.ttl * 1000 } : {}),
    sentAt: f.at, // its edit window starts there, as on the recipients' clients (e2e/changes.ts editTooLate)
  };
}

/**
 * My text `s`, sealed with `f`, taken by the other end as `r`, in both modes: out of the outbox into
 * the history (an answered text: engine_outbox.ts), numbered as the session numbers it (chat_session.ts
 * `number`: the server's seq, or the peer store's). The message as the other end took it, so numbered.
 */
export function settleSent(
  outbox: Outbox | null,
  session: Pick<ChatSession, "user" | "number">,
  s: Pick<ChatMessage, "mid" | "to" | "text">,
  f: TextOptions & { at: number },
  r: { seq: number; ts: number },
): ChatMessage {
  const m = session.number(sentMessage(session.user, s, f, r));
  outbox?.carry(outboxStep({ kind: "answered", message: m }), null);
  return m;
}

/**
 * Sending outbox entry `mid` over `session` failed with `e` (`kept`: a kept entry, else a one-shot
 * send's), in both modes: the outbox does as engine_outbox.ts decides, with the session's facts —
 * whether the carrier of the entry's lane is gone now (a peer away is its lane's, not the session's),
 * its frame cap, its drop limit. The error to throw (`e` without an outbox).
 */
export function sendFailed(
  outbox: Outbox | null,
  session: Pick<ChatSession, "closed" | "maxFrame" | "dropLimit" | "sends">,
  mid: string,
  e: unknown,
  kept: boolean,
): unknown {
  const to = outbox?.store.pending(mid)?.to, sends = session.sends;
  const offline = session.closed || (to !== undefined && sends.offline(sends.lane?.(to) ?? ""));
  const how = { kept, offline, maxFrame: session.maxFrame, dropLimit: session.dropLimit };
  return outbox ? outbox.sendFailed(mid, e, how) : e;
}

/** Seals and sends `text` (see the module comment); the message as the other end took it. */
export async function sendText(
  h: SendHost,
  target: Target,
  text: string,
  o: TextSend = {},
): Promise<ChatMessage> {
  const { taken } = await handText(h, target, text, o);
  return (await taken)!;
}

/** What a text's send says besides it: kept in the outbox, its own id, the message it answers, its entry (a resend's). */
export type TextSend = { keep?: boolean; mid?: string; replyTo?: string; entry?: PendingMessage };

/**
 * `sendText`, answered once the carrier took it (the relay: answered, so at once; a peer channel:
 * written) with the other end's answer to come (`taken`: settled out of the outbox into the
 * history; null when it had left the outbox meanwhile, settled by another acknowledgement).
 */
export async function handText(
  h: SendHost,
  target: Target,
  text: string,
  o: TextSend = {},
): Promise<{ taken: Promise<ChatMessage | null> }> {
  const to = wire(target), codec = h.codec, outbox = h.outgoing;
  const mid = o.mid ?? h.session.sends.mid?.() ?? randomId(undefined, 12);
  if (o.replyTo && !codec.sealChange) {
    throw new BackendError("no_keys", "Replies need end-to-end keys (a client folder)");
  }
  // A resend's entry is there already (the kept sends hand it: `entry`); a script's first send with its mid is not.
  let entry = o.entry ?? (o.mid ? h.store?.pending(o.mid) : undefined);
  if (!entry) {
    await checkSendable(h, to, text);
    entry = outbox?.create(to, text, {
      mid,
      ...(o.replyTo ? { replyTo: o.replyTo } : {}),
      resend: o.keep === true,
    });
  }
  try {
    // An entry too long for one frame (queued by an older version) is refused before its seal.
    if (o.entry) checkTextSize(text, h.session.maxFrame, 1, codec.encrypted);
    if (codec.encrypted) await h.opened(); // room changes seen so far apply first
    // Disappearing messages (issue 39.5): the conversation's time when it was written (the entry
    // keeps it, core/outbox.ts) goes inside and to the server.
    const ttl = codec.sealSetting ? entry?.ttl ?? 0 : 0;
    // Sealed: when it was written, so the server's stamp does not alone start its disappearing time
    // nor its edit window (issue 69 N4), however long it waited.
    const sealed = textFacts(h.store, o.replyTo, ttl, entry?.ts ?? h.clock.now());
    const { acked } = await sealAndSend(
      () => codec.seal(to, mid, text, sealed),
      async ({ body, devices, handouts }) => {
        const fields = { ...(devices ? { devices } : {}), ...(ttl ? { ttl } : {}) };
        // The header's JSON (ids at most 10 digits) and the frame prefix beside the sealed body.
        const head = utf8.encode(JSON.stringify({ to, mid, ...fields, t: "send", id: 1e9 })).length + 8;
        checkFrameSize(head + body.length, h.session.maxFrame, text);
        await handOut(codec, h.link, handouts); // members get the sender key before the message
        return await handOver(h.link, to, mid, body, { ...fields, ts: sealed.at });
      },
      codec.devicesChanged?.bind(codec),
    );
    const taken = acked.then((r) => {
      // An ack that comes after the hand-over (a peer's) may find its entry settled meanwhile (the other end
      // holds it); the relay's answer is the hand-over's own, and always settles.
      if (h.link.write && o.entry && !h.store?.pending(mid)) return null;
      const m = settleSent(outbox, h.session, { mid, to, text }, sealed, r); // out of the outbox, into the history
      if (to.kind === "user" && to.name) h.away?.sent(to.name); // their away reply is expected (away.ts)
      return m;
    });
    return { taken };
  } catch (e) {
    throw sendFailed(outbox, h.session, mid, e, o.keep === true);
  }
}

/**
 * Hands `body` to `link`: resolves once the carrier took it, with the other end's ack to come — the
 * relay's answer is both; a peer channel's record is written, its ack comes later (core/link.ts `write`).
 */
export async function handOver(
  link: Link,
  to: Target,
  mid: string,
  body: Uint8Array,
  o: LinkSendOptions,
): Promise<{ acked: Promise<LinkAck> }> {
  if (!link.write) return { acked: Promise.resolve(await link.send(to, mid, body, o)) };
  const w = link.write(to, mid, body, o);
  w.acked.catch(() => {}); // a carrier gone: the lane's, and the entry waits for the next one
  await w.written;
  return { acked: w.acked };
}

/** What `sendSignal`'s seal answers when there is nobody to seal it for. */
const NOBODY: Sealed = { body: new Uint8Array(0) };

/**
 * Seals `payload(mid)` (typing, or a signal of a kind of its own) end to end and sends it as the
 * link's signal: the server relays it to live sessions only. A DM's is sealed again once when the
 * server says the devices changed (`sealAndSend`), so it reaches every current device. False when
 * the codec cannot seal one or there is nobody to seal it for.
 */
export async function sendSignal(
  h: SendHost,
  to: Target,
  payload: (mid: string) => Uint8Array,
): Promise<boolean> {
  const codec = h.codec;
  if (!codec.sealSignal || (to.kind === "user" && await codec.blocks?.has(to.name!))) return false;
  await h.opened(); // room changes seen so far apply first
  const mid = h.session.sends.mid?.() ?? randomId(undefined, 12); // a peer's wire takes its own ids only
  return await sealAndSend(
    async () => (await codec.sealSignal!(to, payload(mid))) ?? NOBODY,
    async (s) => {
      if (s === NOBODY) return false; // no device of theirs can read it (no keys, a changed key)
      await handOut(codec, h.link, s.handouts); // the sender key first, as for a message
      await h.link.signal(to, mid, s.body, s.devices ? { devices: s.devices } : {});
      return true;
    },
    codec.devicesChanged?.bind(codec),
  );
}
