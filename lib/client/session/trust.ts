/**
 * Server trust, SSH style: the known-servers file in the client's home maps `host:port` to the
 * pinned certificate. First contact shows the fingerprint and asks (or takes a flag); a changed
 * certificate is refused naming both fingerprints. File I/O for the known-servers file lives here.
 *
 * The pin is the certificate: the nodes of one `--server a,b` list are one server, so a node not
 * pinned yet is trusted when it presents the certificate pinned for another node of the list (and
 * is then pinned under its own address too, `pinAddress`); an address not pinned yet that presents a
 * certificate pinned for any other address (a server restored or moved) is trusted and pinned too. `serverKey` names a server by its
 * certificate, not by an address: the client folder's database is keyed by it (`addressesOf` lists
 * the addresses it was reached at, for folders made when it was keyed by address).
 */
import { fingerprintPem, normalizeFingerprint } from "../../net/cert.ts";
import { probeCertificate } from "../../net/tls.ts";
import { BackendError } from "../backend.ts";
import { writePrivateFile } from "./home_dir.ts";
import { type Clock, systemClock } from "../../common/clock.ts";

export interface TrustOptions {
  home: string;
  host: string;
  port: number;
  trustOnFirstUse?: boolean;
  fingerprint?: string;
  /** Asked on a terminal at first contact; absent in scripts. */
  ask?: (question: string) => Promise<boolean>;
  /** When a pin is added (its `added` time); default: the system clock. */
  clock?: Clock;
}

type Known = Record<string, { fingerprint: string; pem: string; added: string }>;

/** The certificate pinned for `host:port`, or null. */
export async function pinnedCertificate(home: string, host: string, port: number): Promise<string | null> {
  const known = await readKnown(home);
  const key = `${host}:${port}`;
  return Object.hasOwn(known, key) ? known[key]!.pem : null;
}

/** Pins `pem` for `host:port` (a node that presented the certificate pinned for its server list). */
export async function pinAddress(
  home: string,
  host: string,
  port: number,
  pem: string,
  clock: Clock = systemClock,
): Promise<void> {
  const known = await readKnown(home);
  const key = `${host}:${port}`;
  if (Object.hasOwn(known, key)) return;
  known[key] = { fingerprint: await fingerprintPem(pem), pem, added: new Date(clock.now()).toISOString() };
  await writePrivateFile(home, file(home), JSON.stringify(known, null, 2));
}

/** A server's name in file names: its certificate's SHA-256 (the first 16 bytes, hex), "sha256-…". */
export async function serverKey(pem: string): Promise<string> {
  const fp = await fingerprintPem(pem);
  return `sha256-${fp.replace(/^SHA256:/, "").replaceAll(":", "").toLowerCase().slice(0, 32)}`;
}

/** Every address pinned to the certificate `pem`, the earliest pinned first. */
export async function addressesOf(home: string, pem: string): Promise<string[]> {
  const fp = await fingerprintPem(pem);
  return Object.entries(await readKnown(home))
    .filter(([, e]) => e.fingerprint === fp)
    .sort(([, a], [, b]) => a.added.localeCompare(b.added))
    .map(([k]) => k);
}

const file = (home: string) => `${home}/known_servers.json`;

async function readKnown(home: string): Promise<Known> {
  try {
    return JSON.parse(await Deno.readTextFile(file(home))) as Known;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw new BackendError("bad_home", `Cannot read ${file(home)}: ${e instanceof Error ? e.message : e}`);
  }
}

/** Returns the pinned certificate PEM for the server, establishing trust if needed. */
export async function trustedCertificate(o: TrustOptions): Promise<string> {
  const key = `${o.host}:${o.port}`;
  const known = await readKnown(o.home);
  const entry = Object.hasOwn(known, key) ? known[key] : undefined;
  if (entry) return entry.pem;
  let pem: string;
  try {
    pem = await probeCertificate(o.host, o.port);
  } catch (e) {
    throw new BackendError(
      "unreachable",
      `Cannot reach the server at ${key}: ${e instanceof Error ? e.message : e}`,
    );
  }
  const fp = await fingerprintPem(pem);
  // The pin is the certificate, not the address (issue 71.17): one pinned for another address (the
  // server restored or moved elsewhere) is trusted here too; the handshake then proves its key.
  const pinnedElsewhere = Object.values(known).some((e) => e.fingerprint === fp);
  if (o.fingerprint !== undefined) {
    const want = normalizeFingerprint(o.fingerprint);
    if (!want) throw new BackendError("bad_fingerprint", `"${o.fingerprint}" is not a SHA-256 fingerprint`);
    if (want !== fp) {
      throw new BackendError(
        "fingerprint_mismatch",
        `The server at ${key} has fingerprint ${fp}, not the expected ${want}; refusing to connect`,
      );
    }
  } else if (!o.trustOnFirstUse && !pinnedElsewhere) {
    const q = `First contact with ${key}. Its certificate fingerprint is\n  ${fp}\nTrust it?`;
    if (!o.ask || !await o.ask(q)) {
      throw new BackendError(
        "untrusted",
        `The server at ${key} is not known yet (fingerprint ${fp}); run again with --trust-on-first-use or --fingerprint ${fp}`,
      );
    }
  }
  known[key] = { fingerprint: fp, pem, added: new Date((o.clock ?? systemClock).now()).toISOString() };
  await writePrivateFile(o.home, file(o.home), JSON.stringify(known, null, 2));
  return pem;
}

/**
 * Explains a failed pinned handshake: if the certificate changed, says so with both fingerprints.
 * `viaList`: the node was not pinned itself but held to the certificate pinned for its server list.
 */
export async function explainTlsFailure(
  o: TrustOptions,
  pinnedPem: string,
  err: unknown,
  viaList = false,
): Promise<BackendError> {
  const key = `${o.host}:${o.port}`;
  let now: string;
  try {
    now = await fingerprintPem(await probeCertificate(o.host, o.port));
  } catch {
    return new BackendError(
      "unreachable",
      `Cannot reach the server at ${key}: ${err instanceof Error ? err.message : err}`,
    );
  }
  const was = await fingerprintPem(pinnedPem);
  if (now !== was && viaList) {
    return new BackendError(
      "certificate_changed",
      `WARNING: the server at ${key} presents certificate ${now}, not ${was} pinned for the other nodes of its server list; refusing to connect`,
    );
  }
  if (now !== was) {
    return new BackendError(
      "certificate_changed",
      `WARNING: the certificate of ${key} has CHANGED (known ${was}, now ${now}); refusing to connect — if the operator replaced it, remove the entry from ${
        file(o.home)
      }`,
    );
  }
  return new BackendError("tls", `TLS with ${key} failed: ${err instanceof Error ? err.message : err}`);
}
