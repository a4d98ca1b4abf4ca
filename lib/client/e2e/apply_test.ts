/**
 * The history applier over an in-memory folder (history, outbox, keystore) and fake room logs: no
 * server; a DM's payload taken as both modes take it (`takeDm`).
 */
import assert from "node:assert/strict";
import { toBase64, utf8 } from "../../common/bytes.ts";
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
const dmConv = convKey("user", "alice", "bob");

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

/** bob's DM `seq` to alice under `mid`, its payload `body` opened with a ratchet step of its own. */
function dm(seq: number, mid: string, body: unknown) {
  const m: ChatMessage = {
    seq,
    mid,
    from: "bob",
    to: { kind: "user", name: "alice" },
    ts: clock.now(),
    text: "",
  };
  const plaintext = utf8.encode(typeof body === "string" ? body : JSON.stringify(body));
  return { m, o: { plaintext, writes: { put: { [`test:step${seq}`]: seq }, del: [] } } };
}

Deno.test("HistoryApplier.takeDm: a payload refused as malformed or out of place is taken once, its ratchet step standing", async () => {
  const { history, local, cs } = await folder();
  const refused = [
    dm(1, "bad00001", "not a payload"),
    dm(2, "bad00002", { v: 1, k: "topic", mid: "bad00002", text: "a DM topic" }),
    dm(3, "bad00003", { v: 1, k: "text", mid: "another1", text: "re-sent under another id" }),
  ];
  for (const { m, o } of refused) {
    await assert.rejects(
      history.takeDm(o, m, dmConv, { senderKey: () => Promise.resolve() }),
      UnreadableError,
    );
    assert.equal(await cs.get(`test:step${m.seq}`), m.seq, "the ratchet step stands");
    assert.ok(cs.consumed(m.seq), "taken: a redelivery costs nothing");
    assert.equal(local.get(m.seq), undefined, "nothing saved");
  }
  const ok = dm(4, "good0001", { v: 1, k: "text", mid: "good0001", text: "hi" });
  assert.equal((await history.takeDm(ok.o, ok.m, dmConv))?.text, "hi");
  assert.equal(await cs.get("test:step4"), 4);
});

Deno.test("HistoryApplier.takeDm: a sender key goes to its taker; with none (no rooms) it is refused like a topic; a bare text only when asked", async () => {
  const { history } = await folder();
  const key = toBase64(new Uint8Array(32));
  const dist = { v: 1, room: "team", epoch: 0, chainId: 1, iteration: 0, ck: key, sigPub: key };
  const taken: string[] = [];
  const skd = dm(1, "skd00001", { v: 1, k: "skd", mid: "skd00001", dist });
  const senderKey = (pl: { mid: string }) => Promise.resolve(void taken.push(pl.mid));
  assert.equal(await history.takeDm(skd.o, skd.m, dmConv, { senderKey }), null);
  assert.deepEqual(taken, ["skd00001"]);
  const stray = dm(5, "skd00002", { v: 1, k: "skd", mid: "skd00002", dist });
  await assert.rejects(history.takeDm(stray.o, stray.m, dmConv), /no place in peer mode/);
  const topic = dm(2, "top00001", { v: 1, k: "topic", mid: "top00001", text: "a DM topic" });
  await assert.rejects(history.takeDm(topic.o, topic.m, dmConv), /no place in peer mode/);
  await assert.rejects(
    history.takeDm(topic.o, topic.m, dmConv, { senderKey: () => Promise.resolve() }),
    /A room's topic arrived in a direct message/,
  );
  const bare = dm(3, "bare0001", "hello from 0.9");
  await assert.rejects(history.takeDm(bare.o, bare.m, dmConv), /not a Parley payload/);
  const broken = {
    ...dm(6, "bare0003", ""),
    o: { plaintext: Uint8Array.of(0xff), writes: { put: {}, del: [] } },
  };
  await assert.rejects(history.takeDm(broken.o, broken.m, dmConv, { bare: true }), UnreadableError);
  const bare2 = dm(4, "bare0002", "hello from 0.9");
  assert.equal((await history.takeDm(bare2.o, bare2.m, dmConv, { bare: true }))?.text, "hello from 0.9");
});
