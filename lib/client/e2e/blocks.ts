/**
 * The users this folder blocked (`/block`, `parley block`): a sorted list of names in the keystore
 * ("blocked", sealed at rest as every value there), read under the folder's lock so a block made by
 * another process of the folder counts at once. What a blocked user sends is opened (their ratchet
 * or sender chain stays in step, so what they send after an unblock reads) and then dropped as
 * consumed: acknowledged, never saved or shown — texts, edits, reactions, file offers, stream keys,
 * typing. Their sender keys still install (a room stays readable after an unblock). They are not
 * told; what they sent meanwhile is gone. Messages to them are refused before they are queued
 * (`refuseBlocked`). My other devices follow: each block or unblock goes to them as a control
 * message ("block", `{user, on}`) in a note to self (a DM to myself, sealed for my other devices
 * only, never for the user blocked), applied there as it is here; one from anyone else is dropped.
 * A device that is offline gets it when it connects; a device linked later gets the list with its
 * keys (start/device_link_flow.ts).
 */
import { utf8, utf8Strict } from "../../common/bytes.ts";
import type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
import type { SqliteCryptoStore } from "../session/crypto_store.ts";
import { normalizeName } from "../../protocol/names.ts";
import type { SealedChannel } from "./controls.ts";
import { BackendError } from "../backend.ts";
import type { Target } from "./door.ts";
import type { BlockOps } from "./body_codec.ts";

const KEY = "blocked";

/** The names `p`'s folder blocked, sorted (read now: call under the folder's lock). */
export async function blockedUsers(p: { cs: Pick<CryptoStateStore, "get"> }): Promise<string[]> {
  const v = await p.cs.get(KEY);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** Whether `user` is blocked in `p`'s folder (never oneself). */
export async function isBlocked(
  p: { cs: Pick<CryptoStateStore, "get">; me: string },
  user: string,
): Promise<boolean> {
  return user !== p.me && (await blockedUsers(p)).includes(user);
}

/** The control kind that tells my other devices of a block or an unblock. */
const SYNC = "block";

/** A block or unblock of `user` as my other devices get it. */
interface BlockSync {
  user: string;
  on: boolean;
}

/** The list `list` with `user` blocked (`on`) or not, and the keystore writes that keep it. */
function changed(list: string[], user: string, on: boolean): { list: string[]; writes: StoreWrites } {
  const now = new Set(list);
  if (on) now.add(user);
  else now.delete(user);
  const next = [...now].sort();
  return { list: next, writes: next.length ? { put: { [KEY]: next }, del: [] } : { put: {}, del: [KEY] } };
}

/** A "block" control payload, checked (SyntaxError when malformed or re-sent under another mid). */
function decodeSync(plaintext: Uint8Array, mid: string): BlockSync {
  const v = JSON.parse(utf8Strict.decode(plaintext)) as Record<string, unknown>;
  if (v.mid !== mid) throw new SyntaxError("The block was re-sent under another id (replay)");
  if (typeof v.user !== "string" || normalizeName(v.user) !== v.user || typeof v.on !== "boolean") {
    throw new SyntaxError("A malformed block");
  }
  return { user: v.user, on: v.on };
}

/**
 * The block operations of `p` (`BodyCodec.blocks`), each under the folder's lock through `serial`;
 * a change goes to my other devices through `channel`, whose "block" messages from them apply here.
 */
export function blockOps(
  p: {
    /** Who this client is. */
    me: string;
    /** The folder's keystore. */
    cs: SqliteCryptoStore;
    /** Tells the surfaces. */
    notice(level: "info", text: string): void;
  },
  serial: <T>(fn: () => Promise<T>) => Promise<T>,
  channel: Pick<SealedChannel, "register" | "send">,
): BlockOps {
  channel.register<BlockSync>(SYNC, {
    decode: decodeSync,
    // Only my own devices set my list; from anyone else it is dropped (consumed, never a line).
    onReceive: async (v, ctx) =>
      ctx.from !== p.me || ctx.room !== undefined || v.user === p.me ? {} : {
        writes: changed(await blockedUsers({ cs: ctx.cs }), v.user, v.on).writes,
        after: () =>
          p.notice("info", `${v.on ? "Blocked" : "Unblocked"} ${v.user} (on another device of yours)`),
      },
  });
  return {
    list: () => serial(() => blockedUsers(p)),
    has: (user) => serial(() => isBlocked(p, user)),
    set: async (user, on) => {
      const list = await serial(async () => {
        const c = changed(await blockedUsers(p), user, on);
        await p.cs.commit(c.writes);
        return c.list;
      });
      // My other devices follow (a note to self sealed for them only; none: nothing goes); offline,
      // they are not told.
      const sync = (mid: string) => utf8.encode(JSON.stringify({ v: 1, k: SYNC, mid, user, on }));
      await channel.send({ kind: "user", name: p.me }, SYNC, sync).catch(() => {});
      return list;
    },
  };
}

/** Why nothing goes to `name`, a user this folder blocked (code "blocked"). */
export const blockedError = (name: string): BackendError =>
  new BackendError(
    "blocked",
    `You blocked ${name}: unblock them first (/unblock ${name}, or parley unblock ${name}) to write to them`,
  );

/** Refuses a message to a user this folder blocked (before it is queued); others pass. */
export async function refuseBlocked(blocks: BlockOps | undefined, to: Target): Promise<void> {
  if (to.kind === "user" && blocks && (await blocks.has(to.name!))) throw blockedError(to.name!);
}

/** The block list of a client's codec (`BodyCodec.blocks`), where it has one. */
export function blocksOf(codec: unknown): BlockOps | undefined {
  return typeof codec === "object" && codec !== null ? (codec as { blocks?: BlockOps }).blocks : undefined;
}
