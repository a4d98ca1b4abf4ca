/** The room sealer's held 0.1.0 room keys over an in-memory keystore: no server. */
import assert from "node:assert/strict";
import { MemoryCryptoStore, type StoreWrites } from "../../crypto/state_store.ts";
import type { SenderKeyDistribution } from "../../crypto/sender_keys.ts";
import type { E2eParts } from "./parts.ts";
import { holdKey, releaseHeld } from "./room_seal.ts";

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
  const p = {
    cs,
    logs: {
      refusal: (_room: string, user: string) =>
        Promise.resolve(user === "bob" ? null : `${user} is not a member`),
      unlogged: () => false,
    },
    rooms: {
      acceptDistribution: (_from: string, d: { chainId: number }): Promise<StoreWrites> => {
        installed.push(d.chainId);
        return Promise.resolve({ put: { [`chain:${d.chainId}`]: true }, del: [] });
      },
    },
    notice: (_level: string, text: string) => notices.push(text),
  } as unknown as E2eParts;
  assert.deepEqual(await releaseHeld(p, "old"), [], "nothing held any more");
  assert.equal(installed.length, 31, "bob's keys installed");
  assert.equal(await cs.get("chain:33"), true, "committed");
  assert.deepEqual(notices, ["A room key from mallory for #old was refused: mallory is not a member"]);
  assert.equal(await cs.get("held:old"), undefined);
});
