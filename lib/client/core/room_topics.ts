/**
 * Room topics on the rooms capability (`RoomControls.topic` / `setTopic`): end to end, so the
 * server never learns them. A topic is a setting message of the room (message_changes.ts
 * `setTopic`), kept in the folder's local store (session/local_topics.ts). A member invited later
 * cannot read the room's earlier messages, so whoever invites sends the topic once more, with the
 * time it was set: it shows for the new member only (the others hold it already). Without a local
 * store (no end-to-end keys) there are no topics.
 */
import type { RoomControls, RoomTopic } from "../backend.ts";
import { convKey } from "../../protocol/names.ts";
import type { LocalStore } from "../session/local_store.ts";
import { topicOf } from "../session/local_topics.ts";
import { wire } from "../session/wire_events.ts";
import type { MessageChanges } from "./message_changes.ts";

/** `rooms` with topics over `changes` and the folder's `store` (none: no topic held, none can be set). */
export function withTopics(
  rooms: RoomControls,
  changes: MessageChanges,
  store: () => LocalStore | null,
): RoomControls {
  const held = (room: string): RoomTopic | null => {
    const db = store()?.db;
    const t = db && topicOf(db, convKey("room", wire({ kind: "room", name: room }).name!));
    return t?.text ? t : null;
  };
  return {
    ...rooms,
    topic: (room) => Promise.resolve(held(room)),
    setTopic: async (room, text) => (await changes.setTopic(room, text))!,
    invite: async (room, user) => {
      await rooms.invite(room, user);
      const t = held(room);
      // The invitation stands; a topic that could not follow is not worth failing it for.
      if (t) await changes.setTopic(room, t.text, t).catch(() => {});
    },
  };
}
