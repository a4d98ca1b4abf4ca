/**
 * The account's password on the client (issue 10, item 11): the server never sees the password,
 * and what it sees cannot open the keystore.
 *
 *   master     = argon2id(NFKC password, account salt, account parameters)        (32 bytes)
 *   credential = HKDF-SHA256(master, no salt, "parley server login credential v1")  → hex, sent to the server
 *   keystore   = HKDF-SHA256(master, no salt, "parley keystore key v1")             → never leaves the device
 *
 * The salt (16 random bytes) and parameters are chosen by the client at registration and kept by
 * the server (`kdf` request) and in the client folder. Parameters received from anywhere are
 * checked against a floor (a server must not talk a client into cheap hashing: the credential is
 * then an offline guessing oracle) and a ceiling (nor into hashing for ever) before any hashing.
 * The server hashes the credential again with its own argon2id.
 */
import { fromHex, toHex, utf8 } from "../common/bytes.ts";
import { cryptoRandom, type RandomBytes } from "../common/random.ts";
import { type Argon2Params, deriveAtRestKey, OWASP_ARGON2 } from "./at_rest.ts";
import { hkdfSha256Sync } from "./primitives.ts";

/** An account's client-side KDF: salt (hex) and argon2id parameters, as the server stores it. */
export interface AccountKdf {
  salt: string;
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

/** What the password gives: the server credential and the keystore key. */
export interface AccountSecrets {
  kdf: AccountKdf;
  credential: string;
  keystoreKey: Uint8Array;
}

/** The most a client hashes for any parameters it is given (1 GiB, 16 passes, 8 lanes). */
export const KDF_CEILING: Argon2Params = { memoryKiB: 1 << 20, iterations: 16, parallelism: 8 };

/** Fresh parameters for a new account (OWASP unless given) with a random salt. */
export function newAccountKdf(p: Argon2Params = OWASP_ARGON2, rand: RandomBytes = cryptoRandom): AccountKdf {
  return { salt: toHex(rand(16)), ...p };
}

/**
 * `k` as an `AccountKdf` if it has the right shape and lies between `floor` and `KDF_CEILING`;
 * otherwise a `RangeError` saying what is wrong. Checked before any hashing.
 */
export function checkAccountKdf(k: unknown, floor: Argon2Params = OWASP_ARGON2): AccountKdf {
  const o = (k ?? {}) as Record<string, unknown>;
  const int = (x: unknown) => typeof x === "number" && Number.isInteger(x);
  if (typeof o.salt !== "string" || !/^(?:[0-9a-f]{2}){16,32}$/.test(o.salt)) {
    throw new RangeError("the account's salt is not 16 to 32 bytes of hex");
  }
  const { memoryKiB: m, iterations: t, parallelism: p } = o;
  if (!int(m) || !int(t) || !int(p)) {
    throw new RangeError("the account's hashing parameters are not integers");
  }
  const [mi, ti, pi] = [m as number, t as number, p as number];
  if (mi < floor.memoryKiB || ti < floor.iterations || pi < 1 || mi < 8 * pi) {
    throw new RangeError(
      `the account's password hashing is weaker than allowed (${mi} KiB, ${ti} passes; at least ${floor.memoryKiB} KiB, ${floor.iterations} passes)`,
    );
  }
  if (mi > KDF_CEILING.memoryKiB || ti > KDF_CEILING.iterations || pi > KDF_CEILING.parallelism) {
    throw new RangeError("the account's password hashing parameters are beyond what a client computes");
  }
  return { salt: o.salt, memoryKiB: mi, iterations: ti, parallelism: pi };
}

/** Derives the server credential and the keystore key (one argon2id, two HKDF labels). */
export async function accountSecrets(password: string, kdf: AccountKdf): Promise<AccountSecrets> {
  const master = await deriveAtRestKey(password, fromHex(kdf.salt), kdf);
  const label = (s: string) => hkdfSha256Sync(master, new Uint8Array(0), utf8.encode(s), 32);
  return {
    kdf,
    credential: toHex(label("parley server login credential v1")),
    keystoreKey: label("parley keystore key v1"),
  };
}

/** True when two KDF records name the same salt and parameters. */
export function sameKdf(a: AccountKdf, b: AccountKdf): boolean {
  return a.salt === b.salt && a.memoryKiB === b.memoryKiB && a.iterations === b.iterations &&
    a.parallelism === b.parallelism;
}
