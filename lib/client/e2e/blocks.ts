/**
 * The users this folder blocked (`/block`, `parley block`): a sorted list of names in the keystore
 * ("blocked", sealed at rest as every value there), read under the folder's lock so a block made by
 * another process of the folder counts at once. What a blocked user sends is opened (their ratchet
 * or sender chain stays in step, so what they send after an unblock reads) and then dropped as
 * consumed: acknowledged, never saved or shown — texts, edits, reactions, file offers, stream keys,
 * typing. Their sender keys still install (a room stays readable after an unblock). They are not
 * told; what they sent meanwhile is gone. Messages to them are refused before they are queued
 * (`refuseBlocked`). One folder's list: another device keeps its own, as it keeps its verifications.
 */
import { BackendError } from "../backend.ts";
import type { Target } from "./door.ts";
import type { BlockOps } from "./body_codec.ts";
import type { E2eParts } from "./parts.ts";

const KEY = "blocked";

/** The names `p`'s folder blocked, sorted (read now: call under the folder's lock). */
export async function blockedUsers(p: Pick<E2eParts, "cs">): Promise<string[]> {
  const v = await p.cs.get(KEY);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** Whether `user` is blocked in `p`'s folder (never oneself). */
export async function isBlocked(p: Pick<E2eParts, "cs" | "me">, user: string): Promise<boolean> {
  return user !== p.me && (await blockedUsers(p)).includes(user);
}

/** The block operations of `p` (`BodyCodec.blocks`), each under the folder's lock through `serial`. */
export function blockOps(p: E2eParts, serial: <T>(fn: () => Promise<T>) => Promise<T>): BlockOps {
  return {
    list: () => serial(() => blockedUsers(p)),
    has: (user) => serial(() => isBlocked(p, user)),
    set: (user, on) =>
      serial(async () => {
        const now = new Set(await blockedUsers(p));
        if (on) now.add(user);
        else now.delete(user);
        const list = [...now].sort();
        await p.cs.commit(list.length ? { put: { [KEY]: list }, del: [] } : { put: {}, del: [KEY] });
        return list;
      }),
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
