/**
 * The CRC-32 a message row of the embedded store carries (issue 68; sqlite_store.ts writes and checks
 * it, sqlite_check.ts scans with it): zlib's CRC-32 of the body, continued over the UTF-8 of the
 * other columns joined by NUL — `seq, mid, sender, kind, target, conv, ts, expires` (expires "" when
 * none). Both through node:zlib's native crc32: a CRC in JavaScript, fed column by column, was twice
 * as fast in a micro-bench but slower inside a loaded server (issue 73: 0.6 → 0.8–1.2 µs a row in
 * its profile under workload B, where the optimising compiler's turn comes late). Pure.
 */
import { crc32 } from "node:zlib";

/** A row's columns as the CRC reads them (`expires` null or absent: none). */
export interface CrcColumns {
  seq: number;
  mid: string;
  sender: string;
  kind: string;
  target: string;
  conv: string;
  ts: number;
  body: Uint8Array;
  expires?: number | null;
}

/**
 * The CRC-32 a row carries: of its body, then of its other columns joined by NUL. `expires`: the
 * row's, when `m` has none of its own (a message read back before its `expires` is set on it).
 */
export function rowCrc(m: CrcColumns, expires: number | null | undefined = m.expires): number {
  const meta = `${m.seq}\0${m.mid}\0${m.sender}\0${m.kind}\0${m.target}\0${m.conv}\0${m.ts}\0${
    expires ?? ""
  }`;
  return crc32(meta, crc32(m.body));
}
