/**
 * The checks on a key upload (`keys.publish`, issue 10 item 5), called from handlers_devices.ts:
 * - `unsignedUpload`: the identity's self-signature and the signed prekey's signature must verify
 *   (lib/crypto/prekey_verify.ts, the one piece of message crypto the server imports); otherwise
 *   the upload is refused (`bad_keys`) before anything is stored;
 * - `deviceRefusal` (issue 33): every device has its own Ed25519 key besides the account's shared
 *   identity. A session that names a device proves it holds that device's key (a signature over
 *   the session's hello nonce; `bad_device_proof`); a key a removed device had is never accepted
 *   again (`device_removed`); a new device (`device: 0`) of an account that has devices carries an
 *   unexpired approval signed by one of its active devices (`device_not_approved`). Devices from
 *   before device keys (no key recorded) still pass without one, and record theirs when they send it.
 * - `unprovenRefusal`: once the account's devices have keys, only a session that proved one of
 *   them reads or consumes a device's queue or files, or removes a device (`bad_device_proof`):
 *   a removed folder that still has the password must not take device 1's messages (commands.ts).
 * - `loginDeviceProven` (issue 69 D1): a password login proving one of the account's active devices
 *   goes through a lockout.
 * - `prekeysToKeep`: at most `maxPrekeys` one-time prekeys are kept per device; ones past the cap
 *   are ignored, and the reply says how many.
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { Request } from "../protocol/messages.ts";
import { verifyApproval, verifyBundle, verifyDeviceProof } from "../crypto/prekey_verify.ts";
import type { Core } from "./core.ts";
import type { Session } from "./session.ts";
import type { DeviceRow } from "./store/store.ts";

export type Refusal = { code: string; msg: string };

/** The longest an approval may be valid for from now (a day): older ones are not taken. */
const APPROVAL_MAX_MS = 86_400_000;

/** The refusal of an upload whose signatures do not verify, or null. */
export async function unsignedUpload(
  m: Request<"keys.publish">,
): Promise<Refusal | null> {
  if (await verifyBundle({ identity: m.identity, spk: m.spk })) return null;
  return { code: ErrorCode.BadKeys, msg: "The identity or signed prekey signature does not verify" };
}

/**
 * Why session `s` may not act as the device `m.device` (default 1) of its account, or null; `rows`
 * are the account's devices. `as`: "device" for an existing one; "new" for `device: 0`, which needs
 * an approval; "reset" (`keys reset`, which removes every device) checks only the key's proof.
 */
export async function deviceRefusal(
  c: Core,
  s: Session,
  m: Pick<Request<"keys.publish">, "device" | "deviceKey" | "proof" | "approval">,
  rows: readonly DeviceRow[],
  as: "device" | "new" | "reset",
): Promise<Refusal | null> {
  const key = m.deviceKey;
  const device = m.device ?? 1;
  if (key !== undefined) {
    if (!(await verifyDeviceProof(key, { user: s.user, device, nonce: s.nonce }, m.proof))) {
      return { code: ErrorCode.BadDeviceProof, msg: "The device key's proof does not verify" };
    }
    if (rows.some((r) => r.removed !== null && r.signKey === key)) {
      return { code: ErrorCode.DeviceRemoved, msg: "This device was removed from the account" };
    }
  }
  const row = as === "device" ? rows.find((r) => r.device === device) : undefined;
  if (row?.signKey && row.signKey !== key) {
    return { code: ErrorCode.BadDeviceProof, msg: `This session did not prove that it is device ${device}` };
  }
  if (as !== "new") return null;
  const a = m.approval;
  const by = a && rows.find((r) => r.device === a.by && r.removed === null && r.signKey);
  const now = c.clock.now();
  const ok = key !== undefined && a && by && a.expires >= now && a.expires <= now + APPROVAL_MAX_MS &&
    await verifyApproval(by.signKey!, { user: s.user, newKey: key, expires: a.expires }, a.sig);
  if (ok) return null;
  return {
    code: ErrorCode.DeviceNotApproved,
    msg: `A new device of ${s.user} needs the approval of one of its devices: link it ` +
      '("parley device link" on a device you have, "parley device add CODE" here)',
  };
}

/**
 * Why session `s` may not `what` (read or consume its device's queue, …), or null: once any device
 * of the account has a key, only a session that proved its device (keys.publish/keys.count) may.
 * An account from before device keys (none recorded) keeps working without a proof, as device 1.
 */
export function unprovenRefusal(
  c: Core,
  s: Session,
  what: string,
): Refusal | null | Promise<Refusal | null> {
  if (s.proven) return null;
  // At once when the store holds the rows (a send's hot path waits for no promise), else read.
  const now = c.store.devicesNow?.(s.user);
  return now ? unproven(now, what) : c.store.devices(s.user).then((rows) => unproven(rows, what));
}

function unproven(rows: readonly Readonly<DeviceRow>[], what: string): Refusal | null {
  if (!rows.some((d) => d.signKey)) return null;
  return {
    code: ErrorCode.BadDeviceProof,
    msg: `Only one of the account's devices can ${what}: this session did not prove that it is one ` +
      "(a client folder proves it when it logs in)",
  };
}

/**
 * Whether a password login carries a valid device proof (issue 69 D1): `deviceKey` is the key of
 * `user`'s active device `device` (default 1) and `proof` signs this session's hello nonce with
 * it. Such a login goes through a lockout, as a resume token does; its password is still checked.
 */
export async function loginDeviceProven(
  c: Core,
  s: Session,
  user: string,
  m: Pick<Request<"login">, "device" | "deviceKey" | "proof">,
): Promise<boolean> {
  if (m.deviceKey === undefined || m.proof === undefined || !s.nonce || !user) return false;
  const device = m.device ?? 1;
  const row = (await c.store.devices(user)).find((r) => r.device === device && r.removed === null);
  if (!row?.signKey || row.signKey !== m.deviceKey) return false;
  return await verifyDeviceProof(m.deviceKey, { user, device, nonce: s.nonce }, m.proof);
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
