/**
 * Self-signed TLS certificates (ECDSA P-256, SANs localhost/127.0.0.1/::1 plus extra names) made
 * with @peculiar/x509, and certificate fingerprints (`SHA256:` + colon-separated upper-case hex
 * of the SHA-256 of the DER, the form `openssl x509 -fingerprint -sha256` prints), and the same form of
 * the SHA-256 of a certificate's public key (its SPKI DER: `keyFingerprintPem`, the same across a
 * renewal that keeps the key); a key in the form
 * the TLS layer loads fastest (`tlsKeyPem`). No file I/O.
 * @peculiar/x509 is loaded on the first certificate made, not at import: it is ~145 ms of CPU to
 * load, and every client command imports this module only for fingerprints.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { sha256Hex, toHex } from "../common/bytes.ts";

type X509 = typeof import("@peculiar/x509");
let x509Module: Promise<X509> | null = null;

/** @peculiar/x509 (with the reflect-metadata it needs), loaded once. */
function loadX509(): Promise<X509> {
  return x509Module ??= (async () => {
    await import("reflect-metadata");
    const m = await import("@peculiar/x509");
    m.cryptoProvider.set(crypto);
    return m;
  })();
}

export interface CertPair {
  cert: string;
  key: string;
}

export async function makeSelfSignedCert(names: string[] = [], days = 3650): Promise<CertPair> {
  const x509 = await loadX509();
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const dns = ["localhost", ...names.filter((n) => !/^[\d.:]+$/.test(n))];
  const ips = ["127.0.0.1", "::1", ...names.filter((n) => /^[\d.:]+$/.test(n))];
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: toHex(crypto.getRandomValues(new Uint8Array(8))),
    name: "CN=Parley server",
    notBefore: new Date(now.getTime() - 86400_000),
    notAfter: new Date(now.getTime() + days * 86400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        ...dns.map((value) => ({ type: "dns" as const, value })),
        ...ips.map((value) => ({ type: "ip" as const, value })),
      ]),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { cert: cert.toString("pem"), key: pemEncode("PRIVATE KEY", pkcs8) };
}

/**
 * `pem` (a private key) as the server's TLS layer loads it fastest: an EC key as SEC1 ("EC PRIVATE
 * KEY", RFC 5915), any other key, or text that is not a key, as it is (the TLS layer says what is
 * wrong with it). Deno's node:tls builds every connection's TLS state from the context's PEM, the
 * key included: a P-256 key in PKCS#8, as WebCrypto exports it, cost ~25 µs of CPU more per
 * connection than the same key in SEC1 (a server-side TLSSocket made: median 75–80 against 50–52 µs,
 * 16 rounds of 500, this VM).
 */
export function tlsKeyPem(pem: string): string {
  try {
    const k = createPrivateKey(pem);
    return k.asymmetricKeyType === "ec" ? k.export({ type: "sec1", format: "pem" }) as string : pem;
  } catch {
    return pem;
  }
}

function pemEncode(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der)).replace(/(.{64})/g, "$1\n").trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** DER bytes of the first certificate in a PEM text. */
export function pemToDer(pem: string): Uint8Array {
  const m = pem.match(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/);
  if (!m) throw new SyntaxError("No certificate in PEM text");
  const bin = atob(m[1]!.replace(/\s+/g, ""));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function derToPem(der: Uint8Array): string {
  return pemEncode("CERTIFICATE", der);
}

export async function fingerprintDer(der: Uint8Array): Promise<string> {
  return "SHA256:" + (await sha256Hex(der)).toUpperCase().match(/../g)!.join(":");
}

export function fingerprintPem(pem: string): Promise<string> {
  return fingerprintDer(pemToDer(pem));
}

/**
 * The SHA-256 of the public key of the PEM certificate `pem` (its SubjectPublicKeyInfo, DER), in the
 * fingerprint form: what a database records as the certificate it belongs with (lib/server/cert_key.ts).
 */
export function keyFingerprintPem(pem: string): Promise<string> {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return fingerprintDer(new Uint8Array(spki));
}

/** Normalises a user-typed fingerprint (any case, with or without `SHA256:` and colons). */
export function normalizeFingerprint(fp: string): string | null {
  const hex = fp.trim().replace(/^sha-?256:?/i, "").replace(/[:\s]/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return null;
  return "SHA256:" + hex.match(/../g)!.join(":");
}

/** True when the PEM private key `keyPem` is the one of the PEM certificate `certPem` (a restore checks it). */
export function certMatchesKey(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false; // not a certificate, not a key, or of different kinds
  }
}
