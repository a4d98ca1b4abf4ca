/**
 * age's Bech32 key encodings (BIP 173 Bech32, no length limit), for tests that hand a transfer's
 * one-time identity to the `age` command (`AGE-SECRET-KEY-1…`) or read its recipients (`age1…`), and
 * for the testkit's identities. Parley itself carries identities as raw 32 bytes. An encoding only.
 */
// Bech32 (BIP 173), as age encodes its keys (no length limit).
const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!;
  }
  return chk >>> 0;
}

const hrpExpand = (hrp: string) => [
  ...[...hrp].map((c) => c.charCodeAt(0) >> 5),
  0,
  ...[...hrp].map((c) => c.charCodeAt(0) & 31),
];

/** Regroups bits (8 → 5 with padding, 5 → 8 refusing non-zero padding). */
function regroup(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] {
  let acc = 0, bits = 0;
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    acc = (acc << from) | data[i]!;
    bits += from;
    while (bits >= to) out.push((acc >> (bits -= to)) & ((1 << to) - 1));
    acc &= (1 << bits) - 1;
  }
  if (pad && bits) out.push((acc << (to - bits)) & ((1 << to) - 1));
  if (!pad && (bits >= from || acc)) throw new SyntaxError("Invalid Bech32 padding");
  return out;
}

/** Bech32 of `data` under `hrp` (lower case). */
export function bech32Encode(hrp: string, data: Uint8Array): string {
  const d = regroup(data, 8, 5, true);
  const chk = polymod([...hrpExpand(hrp), ...d, 0, 0, 0, 0, 0, 0]) ^ 1;
  const sum = [0, 1, 2, 3, 4, 5].map((i) => (chk >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...d, ...sum].map((v) => CHARSET[v]).join("")}`;
}

/** The HRP (lower case) and bytes of a Bech32 string; SyntaxError on a bad checksum or mixed case. */
export function bech32Decode(s: string): { hrp: string; data: Uint8Array } {
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) throw new SyntaxError("Mixed-case Bech32");
  const low = s.toLowerCase(), sep = low.lastIndexOf("1");
  if (sep < 1 || low.length - sep < 7) throw new SyntaxError("Malformed Bech32");
  const hrp = low.slice(0, sep);
  const vals = [...low.slice(sep + 1)].map((c) => CHARSET.indexOf(c));
  if (vals.some((v) => v < 0)) throw new SyntaxError("Invalid Bech32 character");
  if (polymod([...hrpExpand(hrp), ...vals]) !== 1) throw new SyntaxError("Bad Bech32 checksum");
  return { hrp, data: new Uint8Array(regroup(vals.slice(0, -6), 5, 8, false)) };
}

/** `AGE-SECRET-KEY-1…` for a raw X25519 identity. */
export const encodeIdentity = (secret: Uint8Array): string =>
  bech32Encode("age-secret-key-", secret).toUpperCase();

/** `age1…` for a raw X25519 recipient. */
export const encodeRecipient = (pub: Uint8Array): string => bech32Encode("age", pub);

/** The raw 32 bytes of an `AGE-SECRET-KEY-1…` identity; SyntaxError otherwise. */
export function decodeIdentity(s: string): Uint8Array {
  const { hrp, data } = bech32Decode(s.trim());
  if (hrp !== "age-secret-key-" || data.length !== 32) throw new SyntaxError("Not an age X25519 identity");
  return data;
}

/** The raw 32 bytes of an `age1…` recipient; SyntaxError otherwise. */
export function decodeRecipient(s: string): Uint8Array {
  const { hrp, data } = bech32Decode(s.trim());
  if (hrp !== "age" || data.length !== 32) throw new SyntaxError("Not an age X25519 recipient");
  return data;
}
