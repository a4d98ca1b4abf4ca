/**
 * What a UI's screen shows first and what it saw, in both modes (issue 70): the `feed` capability's
 * rules over the folder's `LocalStore`, one home for client mode's `ChatClient` (chat_client.ts) and
 * peer mode's (the same core over peer/session.ts). The screen starts with the most recent messages of each
 * conversation (RECENT_PER_CONVERSATION), what arrived while away and the outbox; a disappearing
 * message whose time is up is neither shown nor counted (issue 71.7: the next purge deletes it,
 * message_changes.ts `purgeExpired`). A message shown is marked seen (seq 0, not stored yet: nothing).
 * Pure but for the store it is given.
 */
import type { CatchUp, ChatMessage } from "../backend.ts";
import type { LocalStore } from "../session/local_store.ts";

/** Messages of each conversation restored from the local store at start. */
export const RECENT_PER_CONVERSATION = 100;

/** Of `msgs`, those whose time is not up at `now`. */
export function unexpired(msgs: ChatMessage[], now: number): ChatMessage[] {
  return msgs.filter((m) => m.expires === undefined || m.expires > now);
}

/** The most recent messages of each conversation `me` has in `store` (none without one). */
export function recentOf(store: LocalStore | null, me: string): ChatMessage[] {
  return store?.recent(me, RECENT_PER_CONVERSATION) ?? [];
}

/** What the screen shows first at `now`: recent, unseen and pending, what is gone left out. */
export function firstScreen(view: CatchUp, now: number): CatchUp {
  return { recent: unexpired(view.recent, now), unseen: unexpired(view.unseen, now), pending: view.pending };
}

/** The UI showed `ms`: at the next start they are history, not new. */
export function markSeen(store: LocalStore | null, ms: ChatMessage[]): void {
  store?.markSeen(ms.filter((m) => m.seq > 0).map((m) => m.seq));
}
