/** The history applier over an in-memory folder (history, outbox, keystore) and fake room logs: no server. */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { accountSecrets, newAccountKdf } from "../../crypto/account_kdf.ts";
import { convKey } from "../../protocol/names.ts";
import type { BackendEvent, ChatMessage } from "../backend.ts";
import { SqliteCryptoStore } from "../session/crypto_store.ts";
import { LocalStore } from "../session/local_store.ts";
import { FolderApplier, NO_WRITES } from "./apply.ts";
import { UnreadableError } from "./body_codec.ts";

/** Cheap Argon2id for a test keystore. */
const ARGON = { memoryKiB: 64, iterations: 1, parallelism: 1 };
const clock = new ManualClock();
const team = { kind: "room" as const, name: "team" };
const conv = convKey("room", "team");

/** alice's applier over a fresh in-memory folder; `admins`: #team's admins as its verified log says. */
async function folder(admins: string[] = []) {
  const local = new LocalStore(":memory:");
  const cs = await SqliteCryptoStore.open(
    local.db,
    "pw",
    await accountSecrets("pw", newAccountKdf(ARGON)),
    ARGON,
  );
  local.unlock(cs.key);
  const events: BackendEvent[] = [];
  const logs = { state: () => Promise.resolve({ admins, members: [] } as never) };
  const history = new FolderApplier("alice", cs, local, clock, logs, (e) => void events.push(e));
  const changed = () => events.flatMap((e) => e.type === "message.changed" ? [e.message] : []);
  return { history, local, cs, changed };
}

const msg = (seq: number, mid: string, from: string, text = ""): ChatMessage => ({
  seq,
  mid,
  from,
  to: team,
  ts: clock.now(),
  text,
});

Deno.test("HistoryApplier: a message stamped minutes ahead of this clock is consumed, not stored", async () => {
  const { history, local, cs } = await folder();
  const ahead = { ...msg(7, "ahead0001", "bob", "from the future"), ts: clock.now() + 10 * 60_000 };
  await assert.rejects(history.save(NO_WRITES, ahead, conv), UnreadableError);
  assert.equal(local.get(7), undefined, "not in the history");
  assert.ok(cs.consumed(7), "consumed: a redelivery costs nothing");
  assert.equal((await history.save(NO_WRITES, msg(8, "now00001", "bob", "now"), conv))?.text, "now");
  assert.equal(local.get(8)?.text, "now");
});

Deno.test("HistoryApplier: a change of my text whose ok was lost waits for the resend's confirmation, then applies", async () => {
  const { history, local, cs, changed } = await folder();
  local.addPending({ mid: "mytext01", ts: clock.now(), to: team, text: "hi" });
  const react = {
    v: 1 as const,
    k: "react" as const,
    mid: "react001",
    ref: "mytext01",
    emoji: "👍",
    on: true,
  };
  assert.equal(await history.receiveChange(NO_WRITES, msg(5, "react001", "bob"), conv, react), null);
  assert.ok(cs.consumed(5));
  assert.deepEqual(changed(), [], "nothing to change yet");
  local.confirm(msg(4, "mytext01", "alice", "hi"));
  await history.confirmed("mytext01");
  assert.equal(changed().length, 1, "applied once its text is in the history");
  assert.equal(changed()[0]!.mid, "mytext01");
  await history.confirmed("mytext01");
  assert.equal(changed().length, 1, "and only once");
});

Deno.test("HistoryApplier: a room admin by the verified log deletes anyone's message; another member cannot", async () => {
  const { history, local, changed } = await folder(["bob"]);
  local.insert([msg(1, "carol001", "carol", "oops")]);
  const del = (mid: string) => ({ v: 1 as const, k: "delete" as const, mid, ref: "carol001", by: "carol" });
  await assert.rejects(history.receiveChange(NO_WRITES, msg(2, "dave0001", "dave"), conv, del("dave0001")));
  assert.equal(local.get(1)?.text, "oops", "dave is no admin");
  await history.receiveChange(NO_WRITES, msg(3, "bob00001", "bob"), conv, del("bob00001"));
  assert.deepEqual(changed().map((m) => [m.mid, m.text]), [["carol001", ""]], "bob is");
});

Deno.test("HistoryApplier: a refused change commits the step that opened it with its consumption; it changes nothing", async () => {
  const { history, local, cs, changed } = await folder();
  local.insert([msg(1, "carol002", "carol", "mine to change")]);
  const edit = {
    v: 1 as const,
    k: "edit" as const,
    mid: "dave0002",
    ref: "carol002",
    by: "carol",
    text: "forged",
  };
  const step = { put: { "test:step": 1 }, del: [] };
  await assert.rejects(history.receiveChange(step, msg(2, "dave0002", "dave"), conv, edit), UnreadableError);
  assert.equal(await cs.get("test:step"), 1, "the ratchet step stands");
  assert.ok(cs.consumed(2), "consumed: never applied again");
  assert.equal(local.get(1)?.text, "mine to change");
  assert.deepEqual(changed(), []);
});
