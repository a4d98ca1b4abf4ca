/**
 * The backend contract's types as e2e/ names them in what it exports. They are declared and
 * documented in lib/client/backend.ts (the door, their one home); e2e/mod.ts passes them through
 * without documenting them again, which `@internal` tells `deno doc --lint` (as tui/mod.ts does).
 */
import type * as B from "../backend.ts";

/**
 * Where a message goes (backend.ts).
 * @internal
 */
export type Target = B.Target;
/**
 * A message as the UI sees it (backend.ts).
 * @internal
 */
export type ChatMessage = B.ChatMessage;
/**
 * An edit, deletion or reaction of a message (backend.ts).
 * @internal
 */
export type MessageChange = B.MessageChange;
/**
 * A safety number and whether it is verified (backend.ts).
 * @internal
 */
export type Fingerprint = B.Fingerprint;
/**
 * What a surface is told (backend.ts).
 * @internal
 */
export type BackendEvent = B.BackendEvent;
/**
 * The folder's history and outbox (session/local_store.ts).
 * @internal
 */
export type LocalStore = import("../session/local_store.ts").LocalStore;
/**
 * The folder's keystore (session/crypto_store.ts).
 * @internal
 */
export type Keystore = import("../session/crypto_store.ts").SqliteCryptoStore;
