/**
 * Signed room membership changes. A room admin signs each change with the Ed25519 key of their
 * identity; every member verifies it against the admin keys it trusts before showing it and
 * before acting on it (a leave or kick flags every sender key for rotation).
 *
 * Signed bytes: "parley-membership-v1\0" ‖ lp(room, action, target, by) ‖ u32be(epoch) ‖ f64be(at)
 * where lp(…) is u32be length-prefixed UTF-8.
 */

import { concatBytes, fromBase64, toBase64, utf8 } from "../common/bytes.ts";
import type { IdentityKeyPair } from "./identity.ts";
import { ed25519Sign, ed25519Verify, lp, u32be } from "./primitives.ts";

export type MembershipAction = "create" | "join" | "leave" | "kick" | "grant" | "revoke";
const ACTIONS: readonly string[] = ["create", "join", "leave", "kick", "grant", "revoke"];

export interface MembershipChange {
  room: string;
  action: MembershipAction;
  /** the member concerned */
  target: string;
  /** the admin who made the change */
  by: string;
  /** the room's membership epoch after the change */
  epoch: number;
  /** ms since epoch */
  at: number;
}

export interface SignedMembershipChange {
  change: MembershipChange;
  /** base64 Ed25519 public key of the signing admin's identity */
  signer: string;
  sig: string;
}

const CONTEXT = utf8.encode("parley-membership-v1\0");

function encodeChange(c: MembershipChange): Uint8Array {
  const at = new Uint8Array(8);
  new DataView(at.buffer).setFloat64(0, c.at);
  return concatBytes([
    CONTEXT,
    lp([utf8.encode(c.room), utf8.encode(c.action), utf8.encode(c.target), utf8.encode(c.by)]),
    u32be(c.epoch),
    at,
  ]);
}

/** True when a membership change means every sender key in the room must rotate. */
export function changeRequiresRotation(c: MembershipChange): boolean {
  return c.action === "leave" || c.action === "kick";
}

export async function signMembershipChange(
  admin: IdentityKeyPair,
  change: MembershipChange,
): Promise<SignedMembershipChange> {
  const sig = await ed25519Sign(fromBase64(admin.sign.priv), encodeChange(change));
  return { change: { ...change }, signer: admin.sign.pub, sig: toBase64(sig) };
}

/** Verifies shape, that the signer is one of `adminKeys` (base64 Ed25519), and the signature. */
export async function verifyMembershipChange(
  s: SignedMembershipChange,
  adminKeys: readonly string[],
): Promise<boolean> {
  try {
    const c = s.change;
    if (
      typeof c.room !== "string" || typeof c.target !== "string" || typeof c.by !== "string" ||
      !ACTIONS.includes(c.action) || !Number.isInteger(c.epoch) || c.epoch < 0 || c.epoch > 0xffffffff ||
      typeof c.at !== "number" || !Number.isFinite(c.at)
    ) return false;
    if (!adminKeys.includes(s.signer)) return false;
    return await ed25519Verify(fromBase64(s.signer), encodeChange(c), fromBase64(s.sig));
  } catch {
    return false;
  }
}
