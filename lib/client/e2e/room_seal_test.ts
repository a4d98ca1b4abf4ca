/** The room sealer over in-memory keystores, a fake directory and fake room logs: no server. */
import assert from "node:assert/strict";
import { utf8, utf8d } from "../../common/bytes.ts";
import { ManualClock } from "../../common/clock.ts";
import { deviceAddress } from "../../common/device_address.ts";
import { DmManager } from "../../crypto/dm.ts";
import { ensureDeviceKeys, type PrekeyUpload } from "../../crypto/keystore.ts";
import { RoomManager } from "../../crypto/room_manager.ts";
import { MemoryCryptoStore, mergeWrites, type StoreWrites } from "../../crypto/state_store.ts";
import type { SenderKeyDistribution } from "../../crypto/sender_keys.ts";
import type { Handout } from "./body_codec.ts";
import { DeviceLists, DmSealer, E2eDirectory, type Request } from "./dm_seal.ts";
import { decodePayload } from "./keys.ts";
import { holdKey, type RoomLogPort, RoomSealer } from "./room_seal.ts";

const clock = new ManualClock();
const never = () => Promise.reject(new Error("not used here"));

/** Room logs whose members are `members` (one room, always verified, signed). */
function roomLogs(members: string[]): RoomLogPort {
  return {
    recipients: () => Promise.resolve([...members]),
    refusal: (_room, user) => Promise.resolve(members.includes(user) ? null : `${user} is not a member`),
    unlogged: () => false,
    invalidate: () => {},
    isLatest: () => Promise.resolve(true),
    unadopted: () => Promise.resolve([]),
    state: never,
  };
}

/** A fake directory: the prekey bundles each device published (`keys.fetch`); every user has one device. */
function directory() {
  const uploads = new Map<string, PrekeyUpload>();
  const request: Request = (kind, f = {}) => {
    if (kind === "users") return Promise.resolve({ header: { users: [] } });
    const up = uploads.get(deviceAddress(f.user as string, 1));
    if (!up) return Promise.reject(new Error(`no keys for ${f.user}`));
    const opk = up.opks.shift();
    return Promise.resolve({
      header: { bundles: [{ identity: up.identity, spk: up.spk, ...(opk ? { opk } : {}), device: 1 }] },
    });
  };
  return { uploads, request };
}

/** One user's only device: its keystore, DM sealer and room sealer over `logs`. */
async function device(dir: ReturnType<typeof directory>, me: string, logs: RoomLogPort) {
  const cs = new MemoryCryptoStore();
  dir.uploads.set(deviceAddress(me, 1), (await ensureDeviceKeys(cs, clock.now(), 4))!);
  const dm = new DmManager({ store: cs, me, device: 1, clock });
  const devices = new DeviceLists(dir.request, cs, me, 1);
  const dirOf = new E2eDirectory(dir.request, dm, cs);
  const dms = new DmSealer(dm, devices, dirOf, cs);
  const rooms = new RoomManager({ store: cs, me, clock });
  const notices: string[] = [];
  const sealer = new RoomSealer(cs, rooms, dms, devices, logs, dirOf, (_l, t) => void notices.push(t));
  /** Takes `h` as its member would: its DM part opened, its key installed (by the log's rule). */
  const take = async (from: string, h: Handout) => {
    const o = (await dms.openPart(from, h.body))!;
    const pl = decodePayload(o.plaintext, h.mid);
    assert.equal(pl.k, "skd");
    const t = await sealer.takeKey(o.from, from, (pl as { dist: SenderKeyDistribution }).dist);
    await cs.commit(mergeWrites(o.writes, t.writes));
    return t.warn; // what the receive path tells once committed
  };
  /** Opens room message `body` from `from` (throws without its chain). */
  const open = async (from: string, body: Uint8Array) => {
    const o = await sealer.open("team", from, body);
    await cs.commit(o.writes);
    return utf8d.decode(o.plaintext);
  };
  return { sealer, rooms, take, open, notices };
}

const team = { kind: "room" as const, name: "team" };

/** alice, bob and carol; #team has `members`. */
async function room(members: string[]) {
  const dir = directory(), logs = roomLogs(members);
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((u) => device(dir, u, logs)));
  /** `who` (alice unless named) seals `text` for #team: its handouts reported sent, and returned. */
  const send = async (text: string, who = alice!) => {
    const s = await who.sealer.seal(team, utf8.encode(text));
    const handouts = s.handouts ?? [];
    for (const h of handouts) await who.sealer.handedOut(h, { seq: 1 });
    return { body: s.body, handouts };
  };
  return { alice: alice!, bob: bob!, carol: carol!, send };
}

Deno.test("RoomSealer: a room message opens with the key handed out with it; a member holding it gets no other", async () => {
  const members = ["alice", "bob"];
  const { bob, send } = await room(members);
  const first = await send("hello team");
  assert.deepEqual(first.handouts.map((h) => h.to), ["bob"], "never to myself (no other device)");
  await bob.take("alice", first.handouts[0]!);
  assert.equal(await bob.open("alice", first.body), "hello team");
  const second = await send("again");
  assert.deepEqual(second.handouts, [], "bob holds the chain");
  assert.equal(await bob.open("alice", second.body), "again");
});

Deno.test("RoomSealer: a member added gets the current key, only they", async () => {
  const members = ["alice", "bob"];
  const { bob, carol, send } = await room(members);
  await bob.take("alice", (await send("before")).handouts[0]!);
  members.push("carol");
  const s = await send("welcome carol");
  assert.deepEqual(s.handouts.map((h) => h.to), ["carol"]);
  await carol.take("alice", s.handouts[0]!);
  assert.equal(await carol.open("alice", s.body), "welcome carol");
  assert.equal(await bob.open("alice", s.body), "welcome carol", "the same chain");
});

Deno.test("RoomSealer: a member removed does not get the next key, and their chain is forgotten", async () => {
  const members = ["alice", "bob", "carol"];
  const { alice, bob, carol, send } = await room(members);
  for (const h of (await send("all three")).handouts) await (h.to === "bob" ? bob : carol).take("alice", h);
  const fromBob = await send("bob's first", bob);
  const late = await send("bob's second", bob); // sealed before his removal, arriving after it
  await alice.take("bob", fromBob.handouts.find((h) => h.to === "alice")!);
  assert.equal(await alice.open("bob", fromBob.body), "bob's first");
  members.splice(members.indexOf("bob"), 1);
  await alice.sealer.roomChanged({
    t: "room",
    room: "team",
    change: "kicked",
    by: "alice",
    user: "bob",
    members,
  });
  await assert.rejects(alice.open("bob", late.body), /No sender key/, "bob's chain went with him");
  const s = await send("without bob");
  assert.deepEqual(s.handouts.map((h) => h.to), ["carol"], "a new chain, for the remaining members");
  await assert.rejects(bob.open("alice", s.body), "bob has no key for it");
  await carol.take("alice", s.handouts[0]!);
  assert.equal(await carol.open("alice", s.body), "without bob");
  assert.deepEqual(alice.notices, [], "a change of mine is not told to me");
  await bob.rooms.rotate("team"); // a fresh key of bob's: offered to alice, who refuses it
  const after = await send("still here?", bob);
  assert.equal(
    await alice.take("bob", after.handouts.find((h) => h.to === "alice")!),
    "A room key from bob for #team was refused: bob is not a member",
  );
  await assert.rejects(alice.open("bob", after.body), /No sender key/, "a non-member's key is not installed");
});

const dist = (chainId: number) => ({ room: "old", chainId }) as unknown as SenderKeyDistribution;

Deno.test("room_seal: a 0.1.0 room holds its newest 32 keys; once its log is signed, members' install and others' are refused", async () => {
  const cs = new MemoryCryptoStore();
  for (let i = 1; i <= 34; i++) {
    const user = i === 34 ? "mallory" : "bob";
    await cs.commit(await holdKey(cs, { from: user, user, dist: dist(i) }));
  }
  const held = (await cs.get("held:old")) as { dist: { chainId: number } }[];
  assert.deepEqual([held.length, held[0]!.dist.chainId], [32, 3], "the oldest go first");
  const installed: number[] = [], notices: string[] = [];
  const logs = {
    refusal: (_room: string, user: string) =>
      Promise.resolve(user === "bob" ? null : `${user} is not a member`),
    unlogged: () => false,
  } as unknown as RoomLogPort;
  const rooms = {
    acceptDistribution: (_from: string, d: { chainId: number }): Promise<StoreWrites> => {
      installed.push(d.chainId);
      return Promise.resolve({ put: { [`chain:${d.chainId}`]: true }, del: [] });
    },
  } as unknown as RoomManager;
  const unused = {} as never;
  const sealer = new RoomSealer(cs, rooms, unused, unused, logs, unused, (_l, t) => void notices.push(t));
  assert.deepEqual(await sealer.releaseHeld("old"), [], "nothing held any more");
  assert.equal(installed.length, 31, "bob's keys installed");
  assert.equal(await cs.get("chain:33"), true, "committed");
  assert.deepEqual(notices, ["A room key from mallory for #old was refused: mallory is not a member"]);
  assert.equal(await cs.get("held:old"), undefined);
});
