/**
 * `parley irc`'s draft/chathistory on the server's history (issue 72): messages sent before the face
 * started (it never saw them) come back through the backend's history pages for each subcommand —
 * LATEST, BEFORE, AFTER, AROUND, BETWEEN, TARGETS —, in `chathistory` batches with server-time and
 * msgid; bad input gets FAIL CHATHISTORY with the spec's codes. Over a raw socket.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { localIrc, RawIrc } from "./irc_testing.ts";
import type { ChatMessage } from "../lib/client/backend.ts";

const PW = "irc-history-secret-0123";
const CAPS = ["draft/chathistory", "batch", "server-time", "message-tags"];

/** Bob's 12 lines to alice and 3 in room #ops, all before alice's face starts; alice's client joined. */
async function setup() {
  const t = await startTestServer();
  const a = await t.e2eClient("alice");
  const b = await t.e2eClient("bob");
  await b.client.sync();
  const sent: ChatMessage[] = [];
  for (let i = 0; i < 12; i++) sent.push(await b.client.send({ kind: "user", name: "alice" }, `old${i}`));
  await b.client.rooms.create("ops", ["alice"]);
  for (let i = 0; i < 3; i++) sent.push(await b.client.send({ kind: "room", name: "ops" }, `ops${i}`));
  const irc = await localIrc(a.client, PW);
  const c = await RawIrc.open(irc.port);
  await c.register(PW, CAPS);
  return {
    sent,
    c,
    async stop() {
      c.close();
      irc.stop();
      await t.stop();
    },
  };
}

/** Sends one CHATHISTORY and answers the texts of its batch (the batch's lines tagged with it). */
async function ask(c: RawIrc, line: string): Promise<string[]> {
  const from = c.lines.length;
  await c.send(line);
  const open = await c.waitFor(/^:parley BATCH \+h\d+ chathistory \S+$/, 10_000, from);
  const id = /\+(h\d+)/.exec(open)![1]!;
  await c.waitFor(new RegExp(`^:parley BATCH -${id}$`), 10_000, from);
  const mine = c.lines.slice(from).filter((l) => l.includes(`batch=${id}`));
  for (const l of mine) assert.match(l, /time=\d{4}-\d\d-\d\dT[\d:.]+Z/, "server-time");
  for (const l of mine) assert.match(l, /msgid=\w/, "msgid");
  return mine.map((l) => / :([^ ]+)$/.exec(l)![1]!);
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => `old${a + i}`);

Deno.test("irc chathistory: each subcommand reads the server's history, lines this face never saw", async () => {
  const s = await setup();
  try {
    const { c, sent } = s;
    const iso = (i: number) => new Date(sent[i]!.ts).toISOString();
    assert.deepEqual(await ask(c, "CHATHISTORY LATEST bob * 5"), range(7, 12));
    assert.deepEqual(await ask(c, `CHATHISTORY LATEST bob msgid=${sent[9]!.mid} 50`), range(10, 12));
    assert.deepEqual(await ask(c, `CHATHISTORY BEFORE bob msgid=${sent[4]!.mid} 3`), range(1, 4));
    assert.deepEqual(await ask(c, `CHATHISTORY AFTER bob msgid=${sent[4]!.mid} 3`), range(5, 8));
    assert.deepEqual(await ask(c, `CHATHISTORY AFTER bob timestamp=${iso(10)} 10`), range(11, 12));
    assert.deepEqual(await ask(c, `CHATHISTORY AROUND bob msgid=${sent[6]!.mid} 4`), range(4, 8));
    assert.deepEqual(
      await ask(c, `CHATHISTORY BETWEEN bob msgid=${sent[2]!.mid} msgid=${sent[9]!.mid} 3`),
      range(3, 6),
      "the oldest after the first when it is the earlier",
    );
    assert.deepEqual(
      await ask(c, `CHATHISTORY BETWEEN bob msgid=${sent[9]!.mid} msgid=${sent[2]!.mid} 3`),
      range(6, 9),
      "the newest before the first when it is the later",
    );
    assert.deepEqual(await ask(c, "CHATHISTORY LATEST #ops * 10"), ["ops0", "ops1", "ops2"]);
    assert.deepEqual(await ask(c, "CHATHISTORY LATEST bob * 1000").then((x) => x.length), 12, "capped, all");

    const from = c.lines.length;
    const t0 = new Date(sent[0]!.ts - 1000).toISOString(), t1 = new Date(Date.now() + 60_000).toISOString();
    await c.send(`CHATHISTORY TARGETS timestamp=${t0} timestamp=${t1} 10`);
    await c.waitFor(/^:parley BATCH \+h\d+ draft\/chathistory-targets$/, 10_000, from);
    await c.waitFor(/^:parley BATCH -h\d+$/, 10_000, from);
    const rows = c.lines.slice(from).filter((l) => / CHATHISTORY TARGETS /.test(l));
    assert.equal(rows.length, 2, rows.join("\n"));
    assert.match(rows[0]!, new RegExp(`TARGETS bob timestamp=${iso(11)}$`), "oldest newest-message first");
    assert.match(rows[1]!, new RegExp(`TARGETS #ops timestamp=${iso(14)}$`));
  } finally {
    await s.stop();
  }
});

Deno.test("irc chathistory: bad input is FAIL CHATHISTORY with the spec's codes", async () => {
  const s = await setup();
  try {
    const { c } = s;
    const cases: [string, RegExp][] = [
      ["CHATHISTORY SIDEWAYS bob * 5", /FAIL CHATHISTORY INVALID_PARAMS SIDEWAYS /],
      ["CHATHISTORY LATEST bob *", /FAIL CHATHISTORY NEED_MORE_PARAMS LATEST bob /],
      ["CHATHISTORY LATEST bob nonsense 5", /FAIL CHATHISTORY INVALID_PARAMS LATEST bob /],
      ["CHATHISTORY BEFORE bob * 5", /FAIL CHATHISTORY INVALID_PARAMS BEFORE bob /],
      ["CHATHISTORY LATEST bob * zero", /FAIL CHATHISTORY INVALID_PARAMS LATEST bob /],
      ["CHATHISTORY BEFORE bob seq=4 5", /FAIL CHATHISTORY INVALID_MSGREFTYPE BEFORE bob /],
      ["CHATHISTORY BEFORE bob timestamp=yesterday 5", /FAIL CHATHISTORY INVALID_PARAMS BEFORE bob /],
      ["CHATHISTORY BEFORE bob msgid=nosuchmessage 5", /FAIL CHATHISTORY INVALID_PARAMS BEFORE bob /],
      ["CHATHISTORY LATEST #nowhere * 5", /FAIL CHATHISTORY INVALID_TARGET LATEST #nowhere /],
      ["CHATHISTORY LATEST nosuchuser * 5", /FAIL CHATHISTORY INVALID_TARGET LATEST nosuchuser /],
      ["CHATHISTORY LATEST b@d * 5", /FAIL CHATHISTORY INVALID_TARGET LATEST b@d /],
      [
        "CHATHISTORY TARGETS msgid=x timestamp=2020-01-01T00:00:00Z 5",
        /FAIL CHATHISTORY INVALID_PARAMS TARGETS /,
      ],
    ];
    for (const [line, re] of cases) {
      const from = c.lines.length;
      await c.send(line);
      await c.waitFor(re, 10_000, from);
    }
    assert.ok(!c.closed, "still connected");
  } finally {
    await s.stop();
  }
});
