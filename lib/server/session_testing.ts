/**
 * Test support: a logged-in session following the live feed, with the outbox a test gives it
 * (usually a fake that records what is pushed), added to a hub. Used by the hub's and the room
 * runs' tests.
 */
import type { Hub } from "./hub.ts";
import type { Outbox } from "./outbox.ts";
import type { TokenBucket } from "./rate.ts";
import { Session } from "./session.ts";

/** A ready, live session of `user` on `hub` whose frames go to `outbox`. */
export function liveSession(hub: Hub, user: string, outbox: Outbox): Session {
  const s = new Session(`127.0.0.1:${1000 + hub.sessions.size}`, 0, outbox, {} as TokenBucket, () => {});
  s.state = "ready";
  s.user = user;
  s.delivery = "live";
  hub.add(s);
  hub.login(s);
  return s;
}
