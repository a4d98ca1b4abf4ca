/**
 * lib/crypto — Parley's end-to-end encryption library (client side). Pure: no I/O, randomness
 * and time injected where used, all state plain JSON. Entry points:
 * - `DmManager` (dm.ts) over a `CryptoStateStore`: encryptDm / decryptDm / openDm / trust / verify.
 * - `RoomManager` (room_manager.ts): planSend / markDistributed / encrypt / open / memberLeft.
 * - keystore.ts: ensureDeviceKeys, rotateSignedPrekeyIfDue, replenishOneTimePrekeys.
 * - sender_keys.ts + membership.ts: room encryption, rotation, signed membership changes.
 * - file_aead.ts: C2SP chunked encryption (video segments); age.ts + age_stream.ts: the age v1 file
 *   payload of file transfers (imported directly); at_rest.ts: password-sealed keystore.
 * - safety_number.ts: libsignal-style 60-digit safety numbers.
 * Lower layers (session.ts, ratchet.ts, x3dh.ts, primitives.ts) are exported for tests and tools.
 * Server-side password hashing lives in password.ts and is deliberately not re-exported here.
 */

export * from "./primitives.ts";
export * from "./identity.ts";
export * from "./prekeys.ts";
export * from "./x3dh.ts";
export * from "./ratchet.ts";
export * from "./session.ts";
export * from "./safety_number.ts";
export * from "./sender_keys.ts";
export * from "./membership.ts";
export * from "./file_aead.ts";
export * from "./at_rest.ts";
export * from "./state_store.ts";
export * from "./keystore.ts";
export * from "./dm.ts";
export { benchCrypto, type BenchRow } from "./bench.ts";
export * from "./room_manager.ts";
