/**
 * Which certificate a database belongs with (issue 69): clients pin the certificate, and the
 * accounts, keys and messages they trust under that pin are the database's. So the database records
 * its server's certificate key — the SHA-256 of the certificate's public key, its SPKI
 * (lib/net/cert.ts `keyFingerprintPem`), not of the whole certificate: a certificate renewed with the
 * same key keeps its database — in server_meta `cert_fingerprint` (Store `certKey`, both stores).
 * A server records it at its first start, and at the first start of a database that has none yet
 * (an older version's); a server whose certificate key differs from the recorded one refuses to
 * start, naming both keys; `restore` (restore.ts) refuses a backup whose database recorded a key
 * other than the certificate it is restored with. `--other-server` (lib/server/flags.ts) is the
 * operator's word that the database may go with this key: at a start the key is recorded in place of
 * the old one; at a restore the record is cleared, and the next start records its own. Pure: the
 * store and the files are the callers'.
 */
import type { Store } from "./store/store.ts";

/** The flag that accepts a database recorded with another certificate key (start and restore). */
export const OTHER_SERVER_FLAG = "--other-server";

/** What a start does with the recorded key `recorded` and its certificate's key `current`. */
export type CertKeyStart =
  | { kind: "same" }
  | { kind: "recorded" }
  | { kind: "replaced"; was: string }
  | { kind: "refused"; message: string };

/** The one rule: the same key, none recorded yet, or another key (accepted only with the flag). */
export function judgeCertKey(recorded: string | null, current: string, accept: boolean): CertKeyStart {
  if (recorded === current) return { kind: "same" };
  if (recorded === null) return { kind: "recorded" };
  if (accept) return { kind: "replaced", was: recorded };
  return {
    kind: "refused",
    message: `this database belongs with another certificate key (recorded ${recorded}; this server's ` +
      `certificate key ${current}): it was taken from another server, or the TLS key changed. Start with ` +
      `the certificate it belongs with, or once with ${OTHER_SERVER_FLAG} to record this key in its place ` +
      "(clients that pinned the other certificate will refuse this server until they trust it)",
  };
}

/**
 * At a start: judges the store's recorded key against `current` (the served certificate's key),
 * records it when none was or when `accept`; the verdict (a refusal has recorded nothing).
 */
export async function bindCertKey(
  store: Pick<Store, "certKey" | "setCertKey">,
  current: string,
  accept: boolean,
): Promise<CertKeyStart> {
  const v = judgeCertKey(await store.certKey(), current, accept);
  if (v.kind === "recorded" || v.kind === "replaced") await store.setCertKey(current);
  return v;
}

/**
 * At a restore of `src`: null when the database (which recorded `recorded`) may go with the
 * certificate key `target` (null: the backup holds no certificate and none was named) — or `accept`;
 * else the refusal.
 */
export function restoreCertKey(
  src: string,
  recorded: string | null,
  target: string | null,
  accept: boolean,
): string | null {
  if (recorded === null || recorded === target || accept) return null;
  const against = target === null
    ? "the backup holds no certificate: name the one the server will serve with (--tls-cert FILE)"
    : `the certificate it would be restored with has key ${target}`;
  return `the database in ${src} belongs with another certificate key (recorded ${recorded}; ${against}): ` +
    `a backup of another server; refused (restore it with ${OTHER_SERVER_FLAG} to serve it with this ` +
    "certificate; clients that pinned the other one will refuse it)";
}
