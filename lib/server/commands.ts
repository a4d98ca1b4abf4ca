/**
 * The one table of wire commands: kind → who may call it and the handler. The dispatcher checks
 * the session state and role before any handler runs; handlers never see unvalidated input.
 */
import type { Request, RequestKind } from "../protocol/messages.ts";
import type { Core } from "./core.ts";
import type { KeyedBuckets } from "./rate.ts";
import type { Session } from "./session.ts";
import * as acc from "./handlers_account.ts";
import * as msg from "./handlers_messages.ts";
import * as rooms from "./handlers_rooms.ts";
import * as adm from "./handlers_admin.ts";
import { videoHandlers, type VideoParts } from "./video/handlers.ts";

export type Auth = "hello" | "anon" | "user" | "admin";

export interface Command<K extends RequestKind = RequestKind> {
  auth: Auth;
  /** Counts against the per-connection message rate. */
  limited?: boolean;
  run(c: Core, s: Session, m: Request<K>, body: Uint8Array): Promise<void>;
}

export type CommandTable = { [K in RequestKind]: Command<K> };

export function commandTable(loginBuckets: KeyedBuckets, video: VideoParts): CommandTable {
  const auth = acc.makeAuth(loginBuckets);
  const vid = videoHandlers(video);
  return {
    hello: { auth: "hello", run: acc.hello },
    register: { auth: "anon", run: auth },
    login: { auth: "anon", run: auth },
    ping: { auth: "anon", run: acc.ping },
    who: { auth: "user", run: acc.who },
    whois: { auth: "user", run: acc.whois },
    users: { auth: "user", run: acc.users },
    status: { auth: "user", limited: true, run: acc.status },
    send: { auth: "user", limited: true, run: msg.send },
    sync: { auth: "user", run: msg.sync },
    ack: { auth: "user", run: msg.ack },
    history: { auth: "user", limited: true, run: msg.history },
    "room.create": { auth: "user", limited: true, run: rooms.create },
    "room.invite": { auth: "user", limited: true, run: rooms.invite },
    "room.leave": { auth: "user", limited: true, run: rooms.leave },
    "room.kick": { auth: "user", limited: true, run: rooms.kick },
    "room.list": { auth: "user", run: rooms.list },
    "admin.kick": { auth: "admin", run: adm.kick },
    "admin.kicked": { auth: "admin", run: adm.kicked },
    "admin.grant": { auth: "admin", run: adm.grant },
    "admin.revoke": { auth: "admin", run: adm.revoke },
    "admin.unlock": { auth: "admin", run: adm.unlock },
    "admin.unban": { auth: "admin", run: adm.unban },
    "keys.publish": { auth: "user", limited: true, run: adm.keysPublish },
    "keys.fetch": { auth: "user", limited: true, run: adm.keysFetch },
    "keys.count": { auth: "user", run: adm.keysCount },
    "video.list": { auth: "user", limited: true, run: vid["video.list"] },
    "video.play": { auth: "user", limited: true, run: vid["video.play"] },
    "video.ctl": { auth: "user", limited: true, run: vid["video.ctl"] },
    "stream.offer": { auth: "user", limited: true, run: vid["stream.offer"] },
    "stream.answer": { auth: "user", limited: true, run: vid["stream.answer"] },
    // Paced by the relay itself (token bucket at the offered fps), not the chat message rate.
    "stream.frame": { auth: "user", run: vid["stream.frame"] },
    "stream.stop": { auth: "user", limited: true, run: vid["stream.stop"] },
  };
}
