/**
 * The one table of wire commands: kind → who may call it and the handler. The dispatcher checks
 * the session state and role before any handler runs; handlers never see unvalidated input.
 * `asDevice` commands read or consume a device's queue or the account's files (or remove a
 * device): once the account's devices have keys, only a session that proved its device runs them
 * (issue 33: a removed folder with the password must not take device 1's messages).
 */
import type { Request, RequestKind } from "../protocol/messages.ts";
import type { Core } from "./core.ts";
import type { Session } from "./session.ts";
import * as acc from "./handlers_account.ts";
import * as msg from "./handlers_messages.ts";
import * as acks from "./handlers_ack.ts";
import * as rooms from "./handlers_rooms.ts";
import * as openRooms from "./handlers_open_rooms.ts";
import * as adm from "./handlers_admin.ts";
import * as dev from "./handlers_devices.ts";
import * as link from "./handlers_link.ts";
import { videoHandlers, type VideoParts } from "./video/handlers.ts";
import { fileHandlers } from "./handlers_files.ts";
import type { FileStore } from "./file_store.ts";
import { type Refusal, unprovenRefusal } from "./key_checks.ts";

export type Auth = "hello" | "anon" | "user" | "admin";

export interface Command<K extends RequestKind = RequestKind> {
  auth: Auth;
  /**
   * Every command costs tokens from the per-connection rate (one by default; `cost` weighs big
   * requests), checked before the handler and before any audit row. `free`: not counted (hello,
   * once per connection; stream frames, paced by the relay).
   */
  free?: boolean;
  cost?: (m: Request<K>) => number;
  /** Runs the request; a promise when it waits for something (the next request of the connection waits for it). */
  run(c: Core, s: Session, m: Request<K>, body: Uint8Array): void | Promise<void>;
}

export type CommandTable = { [K in RequestKind]: Command<K> };

/** `run`, for a session that proved its device once the account's devices have keys (key_checks.ts). */
function asDevice<K extends RequestKind>(what: string, run: Command<K>["run"]): Command<K>["run"] {
  return (c, s, m, body) => {
    const no = unprovenRefusal(c, s, what);
    if (no === null) return run(c, s, m, body); // the usual case, at once (no promise)
    if (!(no instanceof Promise)) return s.fail(m.id, no.code, no.msg);
    return proven(no, run, c, s, m, body);
  };
}

/** `run` once the device's proof is checked (apart: no closure on a hot path, ARCHITECTURE.md rule 9). */
function proven<K extends RequestKind>(
  no: Promise<Refusal | null>,
  run: Command<K>["run"],
  c: Core,
  s: Session,
  m: Request<K>,
  body: Uint8Array,
): Promise<void> {
  return no.then((r) => r ? s.fail(m.id, r.code, r.msg) : run(c, s, m, body));
}

export function commandTable(limits: acc.AuthLimits, video: VideoParts, files: FileStore): CommandTable {
  const auth = acc.makeAuth(limits);
  const vid = videoHandlers(video);
  const fil = fileHandlers(files);
  return {
    hello: { auth: "hello", free: true, run: acc.hello },
    register: { auth: "anon", run: auth },
    login: { auth: "anon", run: auth },
    kdf: { auth: "anon", run: acc.kdf },
    "account.rekey": { auth: "user", run: acc.rekey },
    "account.passwd": { auth: "user", run: acc.passwd },
    ping: { auth: "anon", run: acc.ping },
    logout: { auth: "user", run: acc.logout },
    who: { auth: "user", run: acc.who },
    whois: { auth: "user", run: acc.whois },
    users: { auth: "user", run: acc.users },
    status: { auth: "user", run: acc.status },
    send: { auth: "user", run: asDevice("send as the account", msg.send) },
    sync: { auth: "user", run: asDevice("read its messages", msg.sync) },
    // Weighted: up to 1,000 cursor writes in one request.
    ack: {
      auth: "user",
      cost: (m) => 1 + Math.floor(m.acks.length / 50),
      run: asDevice("acknowledge its messages", acks.ack),
    },
    history: { auth: "user", run: asDevice("read its history", msg.history) },
    "message.unsend": { auth: "user", run: asDevice("take back a message", msg.unsend) },
    "room.create": { auth: "user", run: asDevice("create a room", rooms.create) },
    "room.invite": { auth: "user", run: asDevice("invite to a room", rooms.invite) },
    "room.leave": { auth: "user", run: asDevice("leave a room", rooms.leave) },
    "room.kick": { auth: "user", run: asDevice("remove a room member", rooms.kick) },
    "room.list": { auth: "user", run: rooms.list },
    "room.adopt": { auth: "user", run: asDevice("adopt a room", rooms.adopt) },
    "room.join": { auth: "user", run: asDevice("join a room", openRooms.join) },
    "room.public": { auth: "user", run: asDevice("open or close a room", openRooms.setPublic) },
    "room.directory": { auth: "user", run: openRooms.directory },
    "admin.kick": { auth: "admin", run: adm.kick },
    "admin.kicked": { auth: "admin", run: adm.kicked },
    "admin.grant": { auth: "admin", run: adm.grant },
    "admin.revoke": { auth: "admin", run: adm.revoke },
    "admin.unlock": { auth: "admin", run: adm.unlock },
    "admin.unban": { auth: "admin", run: adm.unban },
    "admin.invite": { auth: "admin", run: adm.invite },
    "keys.publish": { auth: "user", run: dev.keysPublish },
    "keys.fetch": { auth: "user", run: dev.keysFetch },
    "keys.count": { auth: "user", run: dev.keysCount },
    "device.list": { auth: "user", run: dev.deviceList },
    "device.remove": { auth: "user", run: asDevice("remove a device", dev.deviceRemove) },
    "link.open": { auth: "user", run: link.linkOpen },
    "link.join": { auth: "user", run: link.linkJoin },
    "link.msg": { auth: "user", run: link.linkMsg },
    "video.list": { auth: "user", run: vid["video.list"] },
    "video.play": { auth: "user", run: vid["video.play"] },
    "video.ctl": { auth: "user", run: vid["video.ctl"] },
    "stream.offer": { auth: "user", run: vid["stream.offer"] },
    "stream.answer": { auth: "user", run: vid["stream.answer"] },
    "stream.pane": { auth: "user", run: vid["stream.pane"] },
    // Paced by the relay itself (token bucket at the offered fps), not the chat message rate.
    "stream.frame": { auth: "user", free: true, run: vid["stream.frame"] },
    "stream.stop": { auth: "user", run: vid["stream.stop"] },
    // Bounded by the frame cap, the declared size and the quota (writes) and by the send queue
    // (reads), not by the chat message rate.
    "file.put": { auth: "user", free: true, run: fil["file.put"] },
    "file.get": { auth: "user", free: true, run: asDevice("fetch its files", fil["file.get"]) },
    "file.list": { auth: "user", run: asDevice("list its files", fil["file.list"]) },
    "file.wait": { auth: "user", run: asDevice("follow its files", fil["file.wait"]) },
    "file.done": { auth: "user", run: asDevice("take its files", fil["file.done"]) },
    "file.abort": { auth: "user", run: asDevice("withdraw its files", fil["file.abort"]) },
  };
}
