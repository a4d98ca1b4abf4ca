/**
 * `localControls`: the `local` capability of a backend (backend_groups.ts `LocalControls`) over a
 * folder's `LocalStore` (local_store.ts) — `/search`, mutes (local_mutes.ts), highlight words
 * (local_highlights.ts) and the buffer order (local_buffer_order.ts) — one home for client mode
 * (core/chat_client.ts) and peer mode (the same core over peer/session.ts). Time comes from the injected `now`.
 */
import type { LocalControls } from "../backend.ts";
import type { LocalStore } from "./local_store.ts";
import { muteList } from "./local_mutes.ts";
import { highlightList } from "./local_highlights.ts";
import { bufferOrder } from "./local_buffer_order.ts";

/** What `store` keeps for `user`, as the `local` capability. */
export function localControls(store: LocalStore, user: () => string, now: () => number): LocalControls {
  return {
    search: (q) => store.search(user(), q, now()),
    mutes: muteList(store.db, now),
    highlights: highlightList(store.db, now),
    bufferOrder: bufferOrder(store.db),
  };
}
