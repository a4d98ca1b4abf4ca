/**
 * How message text becomes the opaque body the server relays, and back. `PlainCodec` is UTF-8
 * (used until a session has end-to-end keys); the encryption layer provides another `BodyCodec`.
 */
import { utf8, utf8d } from "../common/bytes.ts";
import type { Target } from "./backend.ts";

export interface BodyCodec {
  readonly encrypted: boolean;
  seal(to: Target, mid: string, text: string): Promise<Uint8Array>;
  open(from: string, to: Target, mid: string, body: Uint8Array): Promise<string>;
}

export const PlainCodec: BodyCodec = {
  encrypted: false,
  seal: (_to, _mid, text) => Promise.resolve(utf8.encode(text)),
  open: (_from, _to, _mid, body) => Promise.resolve(utf8d.decode(body)),
};
