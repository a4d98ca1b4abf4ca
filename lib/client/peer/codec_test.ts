/**
 * Peer mode's seal over client mode's DM sealer (e2e/dm_seal.ts): one v1 envelope per peer, a first
 * session from the bundle its hello brought, none without one, and a changed key said as `key-changed`.
 */
import assert from "node:assert/strict";
import { utf8, utf8d } from "../../common/bytes.ts";
import { ManualClock } from "../../common/clock.ts";
import { DmManager, KeyChangedError, NoSessionError } from "../../crypto/dm.ts";
import { generateIdentity, publicIdentity } from "../../crypto/identity.ts";
import { currentUpload, ensureDeviceKeys } from "../../crypto/keystore.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import { DmSealer } from "../e2e/dm_seal.ts";
import { PeerCodec } from "./codec.ts";
import { PeerStore } from "./store.ts";

const clock = new ManualClock();
const bob = { kind: "user" as const, name: "bob" };

/** `name`'s node parts: its store, ratchets and a codec whose hellos are `hellos`; what it says in `events`. */
async function peer(name: string, hellos: Map<string, PrekeyBundle>) {
  const store = await PeerStore.open(null, name);
  await ensureDeviceKeys(store, clock.now(), 0);
  const dm = new DmManager({ store, me: name, clock });
  const events: string[] = []; // the peers whose changed key was said
  const codec = new PeerCodec({
    dm,
    serial: (fn) => fn(),
    bundle: (p) => hellos.get(p) ?? null,
    history: undefined as never, // nothing received here
    keyChanged: (p) => void events.push(p),
  }, DmSealer);
  return { store, dm, codec, events, bundle: (await currentUpload(store)) as PrekeyBundle };
}

Deno.test("PeerCodec: a first seal starts its session from the peer's hello, none without one; a changed key is said", async () => {
  const hellos = new Map<string, PrekeyBundle>();
  const a = await peer("alice", hellos), b = await peer("bob", hellos);
  try {
    await assert.rejects(a.codec.sealQueued(bob, utf8.encode("x")), NoSessionError);
    hellos.set("bob", b.bundle);
    const s = await a.codec.sealQueued(bob, utf8.encode("hi bob"));
    assert.equal(s.body[0], 1, "a v1 envelope: the peer wire");
    assert.equal(s.devices, undefined, "no device list on a peer's channel");
    assert.equal(utf8d.decode((await b.dm.openDm("alice", s.body)).plaintext), "hi bob");
    // A session, so no hello is needed any more.
    hellos.delete("bob");
    assert.equal(
      utf8d.decode(
        (await b.dm.openDm("alice", (await a.codec.sealQueued(bob, utf8.encode("2"))).body)).plaintext,
      ),
      "2",
    );
    // Bob's key changed (a new one waits): the seal is refused and said.
    const c = a.store.get("contact:bob") as object;
    const other = publicIdentity(await generateIdentity());
    a.store.commit({ put: { "contact:bob": { ...c, pending: other } }, del: [] });
    await assert.rejects(a.codec.sealQueued(bob, utf8.encode("x")), KeyChangedError);
    assert.deepEqual(a.events, ["bob"]);
  } finally {
    a.store.close();
    b.store.close();
  }
});
