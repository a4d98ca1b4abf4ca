/**
 * The public face of lib/client/e2e: everything a feature outside e2e/ (core, peer, files, video,
 * start, cli, tui) uses of end-to-end encryption, and nothing more (tests/architecture_test.ts
 * holds them to it; e2e/'s own files import each other directly).
 *
 * - Codecs: `BodyCodec` (what the core seals and opens bodies with), `PlainCodec`, and `E2eCodec`
 *   (`E2eCodec.attach` opens the keystore and registers the features' control kinds; a value of
 *   `keystoreSide()`, which loads it, as `HistoryApplier`). A seal sends
 *   nothing: a room message's sender-key `Handout`s come back with it and its caller sends them first
 *   (`handOut`); `sealAndSend` is the one "devices changed → relearn → seal once more" loop.
 * - The `SealedChannel`: features `register(kind, {decode, onReceive})` their control kinds on it
 *   and `send(to, kind, encode)` them (to a user's every device, or to a room as one message); a
 *   control some process of the folder waits for is filed in the keystore for it (`FiledList`,
 *   `waitFiled`: e2e/controls.ts).
 * - Payloads (`encodePayload`, `decodePayload`) and the one rule for edits, deletions and reactions
 *   (`applyChecked`: `changeTarget`'s check, then the change applied; `idTaken`: a message is its
 *   sender's and its id's, …), shared with peer mode;
 *   the `HistoryApplier` that applies what is received, in both modes, each over its `Ledger` (a DM's
 *   payload: `takeDm`, what differs a `DmTaking`); the DM sealer, `DmSealer`, which peer mode's codec
 *   builds over its own ports (one device per peer, the bundle of its hello).
 * - Key helpers: the one rule of safety numbers shown and the key pinned (`showKeyNumbers`,
 *   `pinChosenKey`) over DmManager's contacts, both modes' `KeyBook` (`contactBook`), device keys
 *   (`deviceKeyOf`, `deviceAuth`), the
 *   warning about other waiting keys (`othersWarning`).
 */
export {
  type BlockOps,
  type BodyCodec,
  type Handout,
  handOut,
  type KeyOps,
  type LogVerb,
  type MembershipVerb,
  PlainCodec,
  sealAndSend,
  type Sealed,
  type SealedSender,
  type Setting,
  type TextOptions,
  UnreadableError,
} from "./body_codec.ts";
export type {
  AdminLogs,
  Applied,
  AttachClient,
  AttachOptions,
  Consumed,
  DmSealer,
  DmTaking,
  E2eCodec,
  HistoryApplier,
  Host,
  Later,
  Ledger,
  Taken,
} from "./codec.ts";

/**
 * The keystore's side — `E2eCodec`, `HistoryApplier`, `BROADCAST_ROOM` (codec.ts and what it loads: the
 * crypto store, SQLite, the ratchets and sender keys) —, loaded when a keystore opens: a session without
 * one (`play` on a remembered login) starts without it (issue 75). The types above need no loading.
 */
export function keystoreSide(): Promise<typeof import("./codec.ts")> {
  return import("./codec.ts");
}
export { blockedError, blocksOf, refuseBlocked } from "./blocks.ts";
export {
  type ControlContext,
  type ControlKind,
  type ControlOutcome,
  type ControlRegistry,
  filed,
  type FiledEntry,
  FiledList,
  type FolderSignal,
  type SealedChannel,
  takeFiled,
  waitFiled,
  wake,
  watchFolder,
} from "./controls.ts";
export {
  applyChecked,
  changeOf,
  changePayload,
  EDIT_WINDOW_MS,
  editTooLate,
  expiryText,
  idTaken,
  isChange,
  SETTING_FIXED,
  startsAt,
  topicText,
} from "./changes.ts";
export {
  type ChangePayload,
  contactBook,
  type ContactKeys,
  decodePayload,
  deviceAuth,
  deviceKeyOf,
  encodePayload,
  type KeyBook,
  type KeyRecord,
  loginProof,
  MAX_EXPIRY_S,
  othersWarning,
  type Payload,
  pinChosenKey,
  type SessionId,
  settingPayload,
  showKeyNumbers,
  textPayload,
  type TopicPayload,
  topicProblem,
} from "./keys.ts";
export type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
export type { IdentityKeyPair, PublicIdentity } from "../../crypto/identity.ts";
export type { SenderKeyDistribution } from "../../crypto/sender_key_state.ts";
export type { DeviceKey } from "../../crypto/device_link.ts";
export type { KeyCandidates } from "../../crypto/pending_keys.ts";
export type { Fingerprint } from "../backend.ts";
export type { Argon2Params } from "../../crypto/at_rest.ts";
export type { Clock } from "../../common/clock.ts";
