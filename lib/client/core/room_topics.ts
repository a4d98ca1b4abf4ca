/**
 * Room topics on the rooms capability (`RoomControls.topic` / `setTopic`): end to end, so the
 * server never learns them. A topic is a setting message of the room (message_changes.ts
 * `setTopic`), kept in the folder's local store (session/local_topics.ts). A member invited later
 * cannot read the room's earlier messages, so whoever invites sends the room's settings once more,
 * each with the time it was set (`MessageChanges.again`): the topic, and the disappearing time
 * (else what the new member sends would never disappear). They show for the new member only (the
 * others hold them already). Without a local store (no end-to-end keys) there are no topics.
 */
import type { RoomControls, RoomTopic } from "../backend.ts";
import { convKey } from "../../protocol/names.ts";
import type { LocalStore } from "../session/local_store.ts";
import { expirySetting } from "../session/local_store_changes.ts";
import { topicOf } from "../session/local_topics.ts";
import { wire } from "../session/wire_events.ts";
import type { MessageChanges } from "./message_changes.ts";

/** `rooms` with topics over `changes` and the folder's `store` (none: no topic held, none can be set). */
export function withTopics<R extends RoomControls>(
  rooms: R,
  changes: MessageChanges,
  store: () => LocalStore | null,
): R & Required<Pick<RoomControls, "topic" | "setTopic">> {
  const conv = (room: string) => convKey("room", wire({ kind: "room", name: room }).name!);
  const held = (room: string): RoomTopic | null => {
    const db = store()?.db;
    const t = db && topicOf(db, conv(room));
    return t?.text ? t : null;
  };
  /** The room's settings held here, sent on to a member just invited. */
  const again = async (room: string) => {
    const db = store()?.db, t = held(room), x = db && expirySetting(db, conv(room));
    if (t) await changes.again(room, { kind: "topic", text: t.text, at: t.at });
    if (x?.seconds) await changes.again(room, { kind: "expire", seconds: x.seconds, at: x.at });
  };
  return {
    ...rooms,
    topic: (room) => Promise.resolve(held(room)),
    setTopic: (room, text) => changes.setTopic(room, text),
    invite: async (room, user) => {
      await rooms.invite(room, user);
      // The invitation stands; settings that could not follow are not worth failing it for.
      await again(room).catch(() => {});
    },
  };
}
