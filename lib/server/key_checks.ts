/**
 * The checks on a key upload (`keys.publish`, issue 10 item 5), called from handlers_devices.ts:
 * - `unsignedUpload`: the identity's self-signature and the signed prekey's signature must verify
 *   (lib/crypto/prekey_verify.ts, the one piece of message crypto the server imports); otherwise
 *   the upload is refused (`bad_keys`) before anything is stored;
 * - `prekeysToKeep`: at most `maxPrekeys` one-time prekeys are kept per device; ones past the cap
 *   are ignored, and the reply says how many.
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { Request } from "../protocol/messages.ts";
import { verifyBundle } from "../crypto/prekey_verify.ts";
import type { Core } from "./core.ts";

/** The refusal of an upload whose signatures do not verify, or null. */
export async function unsignedUpload(
  m: Request<"keys.publish">,
): Promise<{ code: string; msg: string } | null> {
  if (await verifyBundle({ identity: m.identity, spk: m.spk })) return null;
  return { code: ErrorCode.BadKeys, msg: "The identity or signed prekey signature does not verify" };
}

/** How many of `m`'s one-time prekeys fit under the cap for the key rows `key`, and the reply's note. */
export async function prekeysToKeep(
  c: Core,
  key: string,
  m: Request<"keys.publish">,
): Promise<{ keep: number; extra: Record<string, unknown> }> {
  if (!m.opks.length) return { keep: 0, extra: {} };
  const have = await c.store.countPrekeys(key);
  const keep = Math.max(0, Math.min(m.opks.length, c.config.maxPrekeys - have));
  const ignored = m.opks.length - keep;
  if (!ignored) return { keep, extra: {} };
  const note = `At most ${c.config.maxPrekeys} one-time prekeys are kept per device; ${ignored} were ignored`;
  return { keep, extra: { ignored, note } };
}
