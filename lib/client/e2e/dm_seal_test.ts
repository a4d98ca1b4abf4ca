/** The DM sealer over in-memory keystores and a fake directory: no server. */
import assert from "node:assert/strict";
import { utf8, utf8d } from "../../common/bytes.ts";
import { ManualClock } from "../../common/clock.ts";
import { deviceAddress } from "../../common/device_address.ts";
import { DmManager } from "../../crypto/dm.ts";
import { ensureDeviceKeys, type PrekeyUpload } from "../../crypto/keystore.ts";
import { MemoryCryptoStore } from "../../crypto/state_store.ts";
import { DeviceLists, DmSealer, E2eDirectory, type Request } from "./dm_seal.ts";

const clock = new ManualClock();
/** Each user's identity key pair, as its first device made it (linked devices share it). */
const identities = new Map<string, unknown>();

/** A fake directory: the prekey bundles it hands out (`keys.fetch`), the fetches asked (user/device). */
function directory() {
  const uploads = new Map<string, PrekeyUpload>();
  const fetched: string[] = [];
  const request: Request = (kind, f = {}) => {
    if (kind === "users") return Promise.resolve({ header: { users: [] } }); // lists are set by each test
    assert.equal(kind, "keys.fetch");
    const address = deviceAddress(f.user as string, (f.device as number | undefined) ?? 1);
    fetched.push(address);
    const up = uploads.get(address);
    if (!up) return Promise.reject(new Error(`no keys for ${address}`));
    const opk = up.opks.shift();
    const bundle = { identity: up.identity, spk: up.spk, ...(opk ? { opk } : {}), device: f.device ?? 1 };
    return Promise.resolve({ header: { bundles: [bundle] } });
  };
  return { uploads, fetched, request };
}

/** One device's sealer; its keys published to `dir` unless `publish` is false. A user's devices share the identity. */
async function device(dir: ReturnType<typeof directory>, me: string, n: number, publish = true) {
  const cs = new MemoryCryptoStore();
  const first = identities.get(me);
  if (first) await cs.commit({ put: { identity: first }, del: [] });
  const up = (await ensureDeviceKeys(cs, clock.now(), 4))!;
  if (publish) dir.uploads.set(deviceAddress(me, n), up);
  if (!first) identities.set(me, await cs.get("identity"));
  const dm = new DmManager({ store: cs, me, device: n, clock });
  const devices = new DeviceLists(dir.request, cs, me, n);
  return { devices, sealer: new DmSealer(dm, devices, new E2eDirectory(dir.request, dm, cs), cs) };
}

Deno.test("DmSealer: a DM goes to every device of its recipient and my other devices, never this one; each opens its own part", async () => {
  const dir = directory();
  const alice = await device(dir, "alice", 1);
  const alice2 = await device(dir, "alice", 2);
  const bob = await device(dir, "bob", 1);
  const bob2 = await device(dir, "bob", 2);
  const carol = await device(dir, "carol", 1);
  await alice.devices.set("alice", [1, 2]);
  await alice.devices.set("bob", [1, 2]);
  const s = await alice.sealer.encrypt("bob", utf8.encode("hi bob"));
  assert.deepEqual(s.devices.sort(), ["alice/2", "bob", "bob/2"], "never this device");
  for (const d of [bob, bob2]) {
    const o = await d.sealer.openPart("alice", s.body);
    assert.equal(utf8d.decode(o!.plaintext), "hi bob");
  }
  assert.equal(
    (await alice2.sealer.openPart("alice", s.body))!.from,
    "alice",
    "my other device reads it too",
  );
  assert.equal(
    await carol.sealer.openPart("alice", s.body),
    null,
    "no part for a device it was not sealed for",
  );
});

Deno.test("DmSealer: a signal starts sessions once per device list, and never goes to my own devices", async () => {
  const dir = directory();
  const alice = await device(dir, "alice", 1);
  await device(dir, "bob", 1);
  await device(dir, "bob", 2, false); // bob/2 published no keys
  await alice.devices.set("bob", [1, 2]);
  assert.equal(await alice.sealer.sealSignal("alice", utf8.encode("t")), null, "never for oneself");
  const first = await alice.sealer.sealSignal("bob", utf8.encode("typing"));
  assert.ok(first, "bob/1 can read it");
  assert.deepEqual(dir.fetched, ["bob", "bob/2"], "a session started for each device of the list");
  await alice.sealer.sealSignal("bob", utf8.encode("typing"));
  assert.deepEqual(
    dir.fetched,
    ["bob", "bob/2"],
    "the same list: bob/2 is not asked again on every keystroke",
  );
  await alice.devices.set("bob", [1, 2, 3]);
  await alice.sealer.sealSignal("bob", utf8.encode("typing"));
  assert.deepEqual(dir.fetched, ["bob", "bob/2", "bob/2", "bob/3"], "a new list: tried again");
});
