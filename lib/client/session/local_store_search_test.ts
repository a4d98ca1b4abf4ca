import assert from "node:assert/strict";
import type { ChatMessage, Target } from "../backend.ts";
import { LocalStore } from "./local_store.ts";
import { holdsWord } from "./local_store_search.ts";

const bob: Target = { kind: "user", name: "bob" };
const team: Target = { kind: "room", name: "team" };
let seq = 0;
const msg = (from: string, to: Target, text: string, ts = 1000 + seq): ChatMessage => ({
  seq: ++seq,
  mid: `mid${seq}`,
  ts,
  from,
  to,
  text,
});

Deno.test("search: every word, any case, width and order; deleted, settings and expired never found", async () => {
  const s = new LocalStore(":memory:");
  s.unlock(new Uint8Array(32).fill(3)); // sealed at rest, as in a real folder
  const m: ChatMessage[] = [
    msg("bob", { kind: "user", name: "alice" }, "We DEPLOY on Friday"),
    msg("alice", bob, "friday: deploy then"),
    msg("carol", team, "ｄｅｐｌｏｙ friday from the room"), // full-width letters fold (NFKC)
    msg("alice", team, "deploy only"),
    msg("dave", { kind: "broadcast" }, "friday deploy for everyone"),
    msg("bob", { kind: "user", name: "alice" }, "deploy friday, deleted"),
    { ...msg("bob", { kind: "user", name: "alice" }, "deploy friday, gone"), expires: 5 },
    { ...msg("alice", bob, "deploy friday (a setting line)"), setting: true as const },
  ];
  s.save(m);
  s.applyDelete(m[5]!.seq);
  const found = async (q: Parameters<LocalStore["search"]>[1]) =>
    (await s.search("alice", q, 10)).matches.map((x) => x.text);
  assert.deepEqual(await found({ text: "friday  deploy", limit: 10 }), [
    "We DEPLOY on Friday",
    "friday: deploy then",
    "ｄｅｐｌｏｙ friday from the room",
    "friday deploy for everyone",
  ]);
  assert.deepEqual(await found({ text: "deploy friday", filter: bob, limit: 10 }), [
    "We DEPLOY on Friday",
    "friday: deploy then",
  ]);
  assert.deepEqual(await found({ text: "deploy", filter: team, limit: 10 }), [
    "ｄｅｐｌｏｙ friday from the room",
    "deploy only",
  ]);
  assert.deepEqual(await found({ text: "deploy", filter: { kind: "broadcast" }, limit: 10 }), [
    "friday deploy for everyone",
  ]);
  assert.deepEqual(await found({ text: "deploy", since: m[3]!.ts, limit: 10 }), [
    "deploy only",
    "friday deploy for everyone",
  ]);
  const r = await s.search("alice", { text: "deploy", limit: 2 }, 10);
  assert.deepEqual([r.matches.map((x) => x.text), r.more], [
    ["deploy only", "friday deploy for everyone"],
    true,
  ]);
  assert.equal(
    (await s.search("alice", { text: "nothing", limit: 5 }, 10)).searched,
    5,
    "the live texts were read",
  );
  assert.equal(r.oldest, m[0]!.ts);
  s.close();
});

Deno.test("search: a word matches at the start of a word; unspaced scripts and words of signs anywhere", () => {
  const yes: [string, string][] = [
    ["deployed on friday", "deploy"],
    ["we re-deploy", "deploy"],
    ["see (deploy)", "deploy"],
    ["build 39 failed", "39"],
    ["q3-report.pdf", ".pdf"],
    ["alert in #ops now", "#ops"],
    ["今日は東京へ行きます", "東京"],
    ["ไปกรุงเทพวันนี้", "กรุงเทพ"],
    ["😀deploy", "deploy"],
    ["deploy", "deploy"],
  ];
  for (const [text, word] of yes) assert.ok(holdsWord(text, word), `${word} in ${text}`);
  const no: [string, string][] = [["build 139 failed", "39"], ["redeploy", "deploy"], ["friday", "day"]];
  for (const [text, word] of no) assert.ok(!holdsWord(text, word), `${word} not in ${text}`);
  assert.ok(holdsWord("a day after friday", "day"), "a later place may start a word");
});

Deno.test("search: history larger than a batch is searched whole, newest matches first kept", async () => {
  const s = new LocalStore(":memory:");
  const many = Array.from(
    { length: 1_234 },
    (_, i) => msg("bob", { kind: "user", name: "alice" }, `line ${i}`),
  );
  s.save(many);
  const r = await s.search("alice", { text: "line 1", limit: 1_000 }, Date.now());
  assert.equal(r.searched, 1_234);
  // Both words, each at a word's start: every line whose number starts with 1.
  assert.equal(r.matches.length, many.filter((m) => m.text.slice(5).startsWith("1")).length);
  assert.equal(r.matches[0]!.text, "line 1", "oldest first");
  assert.equal(r.matches.at(-1)!.text, "line 1233");
  assert.equal(
    (await s.search("alice", { text: "line 12", limit: 3 }, Date.now())).matches.map((x) => x.text).join(),
    "line 1231,line 1232,line 1233",
  );
  s.close();
});
