/**
 * Linked devices (issue 9). A client folder is one device; every device of an account shares the
 * account's identity key (moved to a new device over an end-to-end encrypted link channel, so
 * contacts' safety numbers stay) and has its own signed and one-time prekeys, its own queue
 * cursors and its own id (1 = the first folder; ids are never reused).
 *
 * - `keys.publish`: device 1 of an account is made by its first publish; a later publish with
 *   another identity is refused (`not_linked`: link the folder, or `reset` to start over, which
 *   removes every device); `device: 0` adds a linked device, which must carry the account's
 *   identity and an approval signed by one of its active devices (issue 33: key_checks.ts); a
 *   removed device, or a key a removed device had, is refused (`device_removed`); a session acts as
 *   a device only with that device's key (`bad_device_proof`). The session learns its device here
 *   (or from `keys.count`), and with it its queue (cursors, start).
 * - `keys.fetch`: one bundle per active device.
 * - `device.list` / `device.remove` (sessions of a removed device end, it gets nothing more; only a
 *   session that proved its device key removes one, once the account's devices have keys: the
 *   command table's `asDevice`).
 * - `link.open/join/msg`: handlers_link.ts.
 * - `devicesChanged()`: the check `send` makes on E2E DMs: the body must be encrypted to every
 *   active device of the recipient and to the sender's other devices.
 * Every active device change is pushed as `devices` to every logged-in session.
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { Outbound, Request } from "../protocol/messages.ts";
import { normalizeName } from "../protocol/names.ts";
import { deviceAddress } from "../common/device_address.ts";
import type { Core } from "./core.ts";
import type { Session } from "./session.ts";
import type { DeviceRow } from "./store/store.ts";
import { deviceRefusal, prekeysToKeep, unsignedUpload } from "./key_checks.ts";

/** Key rows and queue cursors of a device: its address ("user" for device 1, "user/N" otherwise). */
const deviceKey = deviceAddress;

/** Active device ids of `user`; an account that published keys before devices existed has device 1. */
export async function activeDevices(c: Core, user: string): Promise<number[]> {
  const rows = await c.store.devices(user);
  if (rows.length) return active(rows);
  return (await c.store.takeBundle(user, false)) ? [1] : [];
}

const active = (rows: readonly Readonly<DeviceRow>[]) =>
  rows.filter((d) => d.removed === null).map((d) => d.device);

/** `activeDevices` at once when the store holds `user`'s device rows and there are some; else undefined. */
function activeDevicesNow(c: Core, user: string): number[] | undefined {
  const rows = c.store.devicesNow?.(user);
  return rows?.length ? active(rows) : undefined;
}

async function accountIdentity(c: Core, user: string, rows: DeviceRow[]): Promise<string | null> {
  for (const d of rows.length ? active(rows) : [1]) {
    const b = await c.store.takeBundle(deviceKey(user, d), false);
    if (b) return b.identity;
  }
  return null;
}

/**
 * Tells those who encrypt to `user`'s devices that they changed (issue 33 item 11): `user`'s own
 * sessions and the members of the rooms `user` is in, on every node; no one else. A DM partner
 * outside those rooms needs no push: a DM names the devices it was encrypted for and the server
 * refuses it with the current lists (`devices_changed`), which the client applies and sends again.
 */
async function pushDevices(c: Core, user: string, devices: number[]): Promise<void> {
  const to = new Set([user]);
  for (const r of await c.store.roomsOf(user)) for (const m of r.members) to.add(m.user);
  const h: Outbound = { t: "devices", user, devices };
  c.hub.toUsers(to, h);
  c.hub.link?.push(h, [...to]);
}

export async function keysPublish(c: Core, s: Session, m: Request<"keys.publish">): Promise<void> {
  const unsigned = await unsignedUpload(m);
  if (unsigned) return s.fail(m.id, unsigned.code, unsigned.msg);
  const identity = JSON.stringify(m.identity);
  const now = c.clock.now();
  const rows = await c.store.devices(s.user);
  const current = await accountIdentity(c, s.user, rows);
  let device = m.device ?? 1;
  const as = m.reset ? "reset" : device === 0 ? "new" : "device";
  const row = rows.find((d) => d.device === device);
  if (as === "new" && (current === null || current !== identity)) {
    return s.fail(m.id, ErrorCode.NotLinked, "This device does not hold the account's identity key: link it");
  }
  if (as === "device") {
    if (row?.removed != null) {
      return s.fail(m.id, ErrorCode.DeviceRemoved, "This device was removed from the account");
    }
    if (current !== null && current !== identity) {
      return s.fail(
        m.id,
        ErrorCode.NotLinked,
        `${s.user} already has keys from another folder: link this one from a device you have ` +
          '("parley device link" there, "parley device add CODE" here), or run "parley keys reset" to start over',
      );
    }
    if (!row && (device !== 1 || rows.length)) {
      return s.fail(m.id, ErrorCode.NoSuchDevice, `${s.user} has no device ${device}`);
    }
  }
  const refused = await deviceRefusal(c, s, m, rows, as);
  if (refused) return s.fail(m.id, refused.code, refused.msg);
  let added = false;
  if (as === "reset") {
    await c.store.resetDevices(s.user, now);
    const why = "The account's keys were reset from another folder";
    for (const x of [...c.hub.sessionsOf(s.user)]) if (x !== s) x.bye(ErrorCode.DeviceRemoved, why);
    c.hub.link?.publish({ t: "kick", user: s.user, code: ErrorCode.DeviceRemoved, reason: why });
    device = await c.store.addDevice(s.user, m.name ?? "", now, await c.store.lastSeq(), m.deviceKey);
    added = true;
  } else if (as === "new") {
    device = await c.store.addDevice(s.user, m.name ?? "", now, await c.store.lastSeq(), m.deviceKey);
    added = true;
  } else if (!row) {
    await c.store.addDevice(s.user, m.name ?? "", now, 0, m.deviceKey);
    added = true;
  } else if (!row.signKey && m.deviceKey) await c.store.setDeviceKey(s.user, device, m.deviceKey);
  s.proven = m.deviceKey !== undefined;
  const key = deviceKey(s.user, device);
  await c.store.putIdentity(key, identity, JSON.stringify(m.spk));
  const { keep, extra } = await prekeysToKeep(c, key, m);
  if (keep) await c.store.addPrekeys(key, m.opks.slice(0, keep));
  await bindDevice(c, s, device);
  c.log.info("keys.publish", { user: s.user, device, prekeys: keep, ...extra });
  if (added) await pushDevices(c, s.user, await activeDevices(c, s.user));
  s.reply(m.id, { prekeys: await c.store.countPrekeys(key), device, ...extra });
}

/** Ties the session to its device: its queue cursors and where its queue starts. */
async function bindDevice(c: Core, s: Session, device: number): Promise<void> {
  const rows = await c.store.devices(s.user);
  const row = rows.find((d) => d.device === device);
  s.device = device;
  s.queue = {
    cursor: deviceKey(s.user, device),
    sinceSeq: row?.sinceSeq ?? 0,
    own: active(rows).length > 1, // what one's other devices sent
  };
}

export async function keysCount(c: Core, s: Session, m: Request<"keys.count">): Promise<void> {
  const device = m.device ?? 1;
  const rows = await c.store.devices(s.user);
  const row = rows.find((d) => d.device === device);
  if (row?.removed != null) {
    return s.fail(m.id, ErrorCode.DeviceRemoved, "This device was removed from the account");
  }
  if (!row && (device !== 1 || rows.length)) {
    return s.fail(m.id, ErrorCode.NoSuchDevice, `${s.user} has no device ${device}`);
  }
  const refused = await deviceRefusal(c, s, m, rows, "device");
  if (refused) return s.fail(m.id, refused.code, refused.msg);
  if (row && !row.signKey && m.deviceKey) await c.store.setDeviceKey(s.user, device, m.deviceKey);
  s.proven = m.deviceKey !== undefined;
  await bindDevice(c, s, device);
  s.reply(m.id, { prekeys: await c.store.countPrekeys(deviceKey(s.user, device)), device });
}

export async function keysFetch(c: Core, s: Session, m: Request<"keys.fetch">): Promise<void> {
  const u = normalizeName(m.user);
  if (!u || !(await c.knownUser(u))) {
    return s.fail(m.id, ErrorCode.NoSuchUser, `There is no user named ${m.user}`);
  }
  const all = await activeDevices(c, u);
  const wanted = m.device === undefined ? all : all.filter((d) => d === m.device);
  const bundles: Record<string, unknown>[] = [];
  for (const d of wanted) {
    const key = deviceKey(u, d);
    const mine = u === s.user;
    const b = await c.store.takeBundle(key, mine || c.opkBudget.take(`${s.user}>${key}`));
    if (!b) continue;
    if ((await c.store.countPrekeys(key)) < 10) {
      for (const x of c.hub.sessionsOf(u)) {
        if (x.device === d) x.send({ t: "notice", level: "info", text: "keys.low" });
      }
    }
    bundles.push({
      device: d,
      identity: JSON.parse(b.identity),
      spk: JSON.parse(b.spk),
      ...(b.opk ? { opk: JSON.parse(b.opk) } : {}),
    });
  }
  if (!bundles.length) return s.fail(m.id, ErrorCode.NoKeys, `${u} has not published encryption keys yet`);
  const { device: _d, ...first } = bundles[0]!;
  s.reply(m.id, { user: u, bundle: first, bundles, devices: all });
}

export async function deviceList(c: Core, s: Session, m: Request<"device.list">): Promise<void> {
  const rows = (await c.store.devices(s.user)).filter((d) => d.removed === null);
  s.reply(m.id, {
    devices: rows.map((d) => ({
      device: d.device,
      name: d.name,
      created: d.created,
      current: d.device === s.device,
      ...(d.signKey ? { key: d.signKey } : {}), // its public device key: the client shows its fingerprint
    })),
  });
}

export async function deviceRemove(c: Core, s: Session, m: Request<"device.remove">): Promise<void> {
  if (!(await c.store.removeDevice(s.user, m.device, c.clock.now()))) {
    return s.fail(m.id, ErrorCode.NoSuchDevice, `${s.user} has no device ${m.device}`);
  }
  c.log.info("device.remove", { user: s.user, device: m.device });
  await c.store.audit({
    at: c.clock.now(),
    actor: s.user,
    action: "device.remove",
    target: s.user,
    detail: `${m.device}`,
  });
  const why = "This device was removed from the account";
  c.hub.link?.publish({
    t: "kick",
    user: s.user,
    code: ErrorCode.DeviceRemoved,
    reason: why,
    device: m.device,
  });
  await pushDevices(c, s.user, await activeDevices(c, s.user));
  // Answered once the other nodes were told (the kick, the lists): what this session sends next follows.
  s.reply(m.id, { removed: m.device });
  for (const x of [...c.hub.sessionsOf(s.user)]) {
    if (x.device === m.device) x.bye(ErrorCode.DeviceRemoved, why);
  }
}

/**
 * For an E2E DM: null when `devices` (the addresses the body is encrypted to) are exactly the
 * recipient's active devices and the sender's other ones; else the lists the sender should use.
 */
export function devicesChanged(
  c: Core,
  s: Session,
  to: string,
  devices: readonly string[],
): Record<string, number[]> | null | Promise<Record<string, number[]> | null> {
  // At once when the store holds both lists (a DM's hot path waits for no promise), else read.
  const theirs = activeDevicesNow(c, to), mine = to === s.user ? theirs : activeDevicesNow(c, s.user);
  if (theirs && mine) return changed(s, to, devices, theirs, mine);
  return (async () => {
    const theirs = await activeDevices(c, to);
    return changed(s, to, devices, theirs, to === s.user ? theirs : await activeDevices(c, s.user));
  })();
}

function changed(
  s: Session,
  to: string,
  devices: readonly string[],
  theirs: number[],
  mine: number[],
): Record<string, number[]> | null {
  const want = new Set([
    ...theirs.map((d) => deviceKey(to, d)),
    ...mine.filter((d) => d !== s.device).map((d) => deviceKey(s.user, d)),
  ]);
  want.delete(deviceKey(s.user, s.device));
  const got = new Set(devices);
  if (got.size === want.size && [...want].every((k) => got.has(k))) return null;
  return { [to]: theirs, [s.user]: mine };
}
