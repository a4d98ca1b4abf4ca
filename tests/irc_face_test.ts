/**
 * `parley irc`'s face over a raw TCP socket (issue 72): registration against the folder's IRC
 * password (PASS, SASL PLAIN), the numerics of bad input, each advertised capability, a DM and a room
 * between an IRC user and a Parley client, several IRC clients at once, playback after a detach, and
 * no plaintext in the server's store.
 */
import assert from "node:assert/strict";
import { assertNoPlaintext, collect, eventually, inbox, startTestServer } from "./helpers.ts";
import { localIrc, RawIrc } from "./irc_testing.ts";
import { startIrc } from "../lib/client/irc/mod.ts";
import type { ChatMessage } from "../lib/client/backend.ts";
import { systemClock } from "../lib/common/clock.ts";
import { makeSelfSignedCert } from "../lib/net/cert.ts";
import { ircCertificate } from "../lib/client/session/home_dir.ts";

const PW = "irc-secret-0123456789";

async function setup(opts: Parameters<typeof startTestServer>[0] = {}) {
  const t = await startTestServer(opts);
  const a = await t.e2eClient("alice");
  const b = await t.e2eClient("bob");
  await b.client.sync();
  const logs: string[] = [];
  const irc = await localIrc(a.client, PW, { log: (l) => logs.push(l) });
  const opened: RawIrc[] = [];
  const open = async () => {
    const r = await RawIrc.open(irc.port);
    opened.push(r);
    return r;
  };
  return {
    t,
    a,
    b,
    irc,
    logs,
    open,
    async stop() {
      for (const r of opened) r.close();
      irc.stop();
      await t.stop();
    },
  };
}

Deno.test("irc: a wrong or missing password is refused with ERR_PASSWDMISMATCH; SASL PLAIN and PASS let in", async () => {
  const s = await setup();
  try {
    const bad = await s.open();
    await bad.send("PASS nope", "NICK x", "USER u 0 * :r");
    await bad.waitFor(/ 464 \* :Password incorrect/);
    await bad.waitFor(/^ERROR /);
    const none = await s.open();
    await none.send("NICK x", "USER u 0 * :r");
    await none.waitFor(/ 464 /);
    const early = await s.open();
    await early.send("PRIVMSG bob :hi");
    await early.waitFor(/ 451 \* :You have not registered/);

    const sasl = await s.open();
    await sasl.send("CAP LS 302", "NICK x", "USER u 0 * :r");
    const ls = await sasl.waitFor(/ CAP \* LS /);
    for (
      const cap of [
        "server-time",
        "message-tags",
        "echo-message",
        "batch",
        "away-notify",
        "account-tag",
        "multi-prefix",
        "invite-notify",
        "draft/message-redaction",
        "labeled-response",
        "standard-replies",
        "draft/chathistory",
        "draft/read-marker",
        "sasl=PLAIN",
      ]
    ) {
      assert.ok(ls.split(/[ :]/).includes(cap), `${cap} in ${ls}`);
    }
    await sasl.send("CAP REQ :sasl", "AUTHENTICATE PLAIN");
    await sasl.waitFor(/^AUTHENTICATE \+$/);
    await sasl.send(`AUTHENTICATE ${btoa("\0alice\0wrong")}`);
    await sasl.waitFor(/ 904 /);
    await sasl.send("AUTHENTICATE PLAIN");
    await eventually(() => sasl.lines.filter((l) => l === "AUTHENTICATE +").length === 2, 5000, "second +");
    await sasl.send(`AUTHENTICATE ${btoa("\0alice\0" + PW)}`);
    await sasl.waitFor(/ 900 \* alice!alice@parley alice /);
    await sasl.waitFor(/ 903 /);
    await sasl.send("CAP END");
    await sasl.waitFor(/ 001 alice :Welcome/);
    await sasl.waitFor(/JOIN &broadcast/);

    const pass = await s.open();
    await pass.register(PW);
    await pass.waitFor(/ 001 alice /);
  } finally {
    await s.stop();
  }
});

Deno.test("irc: bad input gets Modern IRC's numerics, never a crash", async () => {
  const s = await setup();
  try {
    const c = await s.open();
    await c.register(PW);
    const n = c.lines.length;
    await c.send("FROB x");
    await c.waitFor(/ 421 alice FROB :Unknown command/, 5000, n);
    await c.send("PRIVMSG " + "a".repeat(600));
    await c.waitFor(/ 417 alice :Input line was too long/, 5000, n);
    await c.send("@" + "a=" + "b".repeat(4100) + " PING x");
    await c.waitFor(/ 417 alice :Input line was too long \(message tags\)/, 5000, n);
    await c.sendRaw(new Uint8Array(20_000).fill(65));
    await c.send("", "JOIN");
    await c.waitFor(/ 461 alice JOIN :Not enough parameters/, 5000, n);
    await c.send(
      "PRIVMSG",
      "PRIVMSG bob",
      "PRIVMSG nobody.x :hi",
      "USER a b c d",
      "CAP FOO",
      "PING :still here",
    );
    await c.waitFor(/ 411 alice :No recipient/, 5000, n);
    await c.waitFor(/ 412 alice :No text to send/, 5000, n);
    await c.waitFor(/ 401 alice nobody\.x /, 5000, n);
    await c.waitFor(/ 462 alice /, 5000, n);
    await c.waitFor(/ 410 alice FOO /, 5000, n);
    await c.waitFor(/PONG parley :still here/, 5000, n);
    assert.deepEqual(s.logs, []);
  } finally {
    await s.stop();
  }
});

Deno.test("irc: a DM and a room between IRC and a Parley client, tags by capability, no plaintext stored", async () => {
  const s = await setup();
  try {
    const bi = inbox(s.b.client);
    const tagged = await s.open();
    await tagged.register(PW, ["server-time", "message-tags", "echo-message", "account-tag"]);
    const plain = await s.open();
    await plain.register(PW);

    await tagged.send("@label=x PRIVMSG bob :secret-dm-from-irc");
    await eventually(() => bi.msgs.some((m) => m.text === "secret-dm-from-irc"), 5000, "bob gets the DM");
    const echo = await tagged.waitFor(/PRIVMSG bob :secret-dm-from-irc/);
    assert.match(echo, /^@.*time=\d{4}-.*msgid=/);
    await plain.waitFor(/^:alice!alice@parley PRIVMSG bob :secret-dm-from-irc$/);
    await plain.send("PRIVMSG bob :from-plain");
    await tagged.waitFor(/:alice!alice@parley PRIVMSG bob :from-plain$/);
    await eventually(() => bi.msgs.some((m) => m.text === "from-plain"), 5000, "bob gets it");
    assert.ok(!plain.lines.some((l) => l.endsWith(":from-plain")), "no echo without echo-message");

    await s.b.client.send({ kind: "user", name: "alice" }, "secret-dm-from-bob");
    const got = await tagged.waitFor(/PRIVMSG alice :secret-dm-from-bob/);
    assert.match(got, /account=bob/);
    assert.match(got, /time=/);
    await plain.waitFor(/^:bob!bob@parley PRIVMSG alice :secret-dm-from-bob$/);

    await tagged.send("PRIVMSG bob :\x01ACTION waves\x01");
    await eventually(() => bi.msgs.some((m) => m.text === "/me waves"), 5000, "an action");

    await tagged.send("JOIN #den");
    await tagged.waitFor(/:alice!alice@parley JOIN #den/);
    await plain.waitFor(/JOIN #den/);
    await tagged.send("INVITE bob #den");
    await tagged.waitFor(/ 341 alice bob :#den/);
    await eventually(
      async () => (await s.b.client.rooms.list()).some((r) => r.name === "den"),
      5000,
      "bob in #den",
    );
    await tagged.send("PRIVMSG #den :secret-room-from-irc");
    await eventually(
      () => bi.msgs.some((m) => m.text === "secret-room-from-irc"),
      5000,
      "bob reads the room",
    );
    await s.b.client.send({ kind: "room", name: "den" }, "secret-room-from-bob");
    await plain.waitFor(/:bob!bob@parley PRIVMSG #den :secret-room-from-bob/);
    await tagged.send("NAMES #den");
    await tagged.waitFor(/ 353 alice = #den :(@alice bob|bob @alice)/);
    await tagged.send("TOPIC #den :secret-topic-here");
    await eventually(
      async () => (await s.b.client.rooms.topic!("den"))?.text === "secret-topic-here",
      5000,
      "topic",
    );
    await plain.waitFor(/TOPIC #den :secret-topic-here/);
    await tagged.send("WHOIS bob");
    await tagged.waitFor(/ 312 alice bob parley :online since/);
    await tagged.send("PRIVMSG *parley :help", "PRIVMSG *parley :fingerprint bob", "PRIVMSG *parley :frob");
    await tagged.waitFor(/^:\*parley!\*parley@parley NOTICE alice :Commands/);
    await tagged.waitFor(/NOTICE alice :bob: \d{5} .*\(not verified\)/);
    await tagged.waitFor(/NOTICE alice :Unknown command "frob"/);
    await tagged.send(
      "PRIVMSG *parley :info",
      "PRIVMSG *parley :block carol",
      "PRIVMSG *parley :expire bob 1h",
    );
    await tagged.waitFor(/NOTICE alice :server: 127\.0\.0\.1:\d+/);
    await tagged.waitFor(/NOTICE alice :.*no_such_user|NOTICE alice :.*carol/);
    await tagged.waitFor(/NOTICE alice :Messages in bob disappear 1h after they are sent/);
    assert.equal(await s.a.client.changes.expiry({ kind: "user", name: "bob" }), 3600);
    await s.b.client.commands.createRoom("lobby", []);
    await s.b.client.commands.setRoomPublic("lobby", { open: true, description: "Say hello" });
    await tagged.send("LIST");
    await tagged.waitFor(/ 322 alice #den 2 :secret-topic-here/);
    await tagged.waitFor(/ 322 alice #lobby 1 :\[open\] Say hello/);
    await tagged.send("JOIN #lobby");
    await tagged.waitFor(/:alice!\S+ JOIN #lobby/);

    await assertNoPlaintext(s.t.dir, s.t.lines, [
      "secret-dm-from-irc",
      "secret-dm-from-bob",
      "secret-room-from-irc",
      "secret-room-from-bob",
      "secret-topic-here",
    ]);
  } finally {
    await s.stop();
  }
});

Deno.test("irc: detached, the session stays online; the next client gets what it missed (server-time, batch, or a time in the text)", async () => {
  const s = await setup();
  try {
    const first = await s.open();
    await first.register(PW);
    await first.send("QUIT :bye");
    await first.waitFor(/^ERROR :Closing link \(bye\)/);
    await eventually(() => s.irc.attached() === 0, 5000, "detached");
    assert.ok((await s.b.client.who()).some((p) => p.user === "alice"), "alice stays online");
    await s.b.client.send({ kind: "user", name: "alice" }, "while-you-were-away");
    await eventually(
      async () => (await s.a.client.history({ kind: "user", name: "bob" })).length > 0,
      5000,
      "kept",
    );
    const back = await s.open();
    await back.register(PW, ["server-time", "batch"]);
    await back.waitFor(/^:parley BATCH \+p\d+ chathistory alice$/);
    const line = await back.waitFor(/PRIVMSG alice :while-you-were-away/);
    assert.match(line, /^@(time=[^;]+;batch=p\d+|batch=p\d+;time=[^;]+) :bob/);
    await back.waitFor(/^:parley BATCH -p\d+$/);
    back.close();
    await eventually(() => s.irc.attached() === 0, 5000, "detached again");
    await s.b.client.send({ kind: "user", name: "alice" }, "second-time");
    await eventually(
      async () => (await s.a.client.history({ kind: "user", name: "bob" })).length > 1,
      5000,
      "kept",
    );
    const old = await s.open();
    await old.register(PW);
    await old.waitFor(/^:bob!bob@parley PRIVMSG alice :\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\] second-time$/);
  } finally {
    await s.stop();
  }
});

Deno.test("irc: away-notify, multi-prefix, reactions as TAGMSG or text, typing", async () => {
  const s = await setup();
  try {
    const one = await s.open();
    await one.register(PW, ["away-notify", "multi-prefix", "message-tags", "invite-notify"]);
    const two = await s.open();
    await two.register(PW, ["away-notify", "message-tags"]);
    const old = await s.open();
    await old.register(PW);
    await one.send("AWAY :lunch");
    await one.waitFor(/ 306 alice /);
    await two.waitFor(/^:alice!alice@parley AWAY :lunch$/);
    await eventually(async () => (await s.b.client.whois("alice"))?.status === "busy", 5000, "busy");
    await s.b.client.setStatus("busy");
    await s.b.client.close();
    await one.waitFor(/^:bob!bob@parley AWAY :offline$/);
    await old.waitFor(/^:bob!bob@parley PART &broadcast :offline$/);
    assert.ok(!old.lines.some((l) => / AWAY /.test(l)), "no AWAY without away-notify");

    await one.send("JOIN #ops");
    await one.waitFor(/ 353 alice = #ops :@alice/);
    const c = await s.t.e2eClient("carol");
    await c.client.sync();
    await old.waitFor(/^:carol!carol@parley JOIN &broadcast$/);
    await s.a.client.rooms.invite("ops", "carol");
    await eventually(
      async () => (await c.client.rooms.list()).some((r) => r.name === "ops"),
      5000,
      "carol in",
    );
    await one.waitFor(/^:alice!alice@parley INVITE carol :?#ops$/);
    await old.waitFor(/:carol!carol@parley JOIN #ops/);
    assert.ok(!old.lines.some((l) => / INVITE /.test(l)), "no INVITE without invite-notify");
    const m = await c.client.send({ kind: "room", name: "ops" }, "react to me");
    await one.waitFor(/PRIVMSG #ops :react to me/);
    await one.send(`@+draft/react=👍;+draft/reply=${m.mid} TAGMSG #ops`);
    await eventually(
      async () =>
        (await c.client.history({ kind: "room", name: "ops" })).some((x) =>
          x.reactions?.["👍"]?.includes("alice")
        ),
      5000,
      "reacted",
    );
    await two.waitFor(new RegExp(`\\+draft/react=👍.* TAGMSG #ops`));
    await old.waitFor(/:alice!alice@parley NOTICE #ops :\(reacted 👍\)/);
    await c.client.changes.react(m.mid, "🎉");
    await one.waitFor(/\+draft\/react=🎉.*:carol!carol@parley TAGMSG #ops/);
    const typing = collect(c.client, "typing");
    await one.send("@+typing=active TAGMSG #ops");
    await eventually(
      () => typing.items.some((e) => (e as { from: string }).from === "alice"),
      5000,
      "typing",
    );
    c.client.typing.set({ kind: "room", name: "ops" }, true);
    await one.waitFor(/\+typing=active.*:carol!carol@parley TAGMSG #ops/);
    await one.send("KICK #ops carol :bye");
    await old.waitFor(/^:alice!alice@parley KICK #ops carol :/);
    await eventually(
      async () => !(await c.client.rooms.list()).some((r) => r.name === "ops"),
      5000,
      "kicked",
    );
  } finally {
    await s.stop();
  }
});

Deno.test("irc: a flood of lines from the IRC side is paced to the server's rate, none lost or reordered", async () => {
  const s = await setup({ msgRate: 200, msgBurst: 20 });
  try {
    const N = Number(Deno.env.get("PARLEY_IRC_FLOOD") ?? 500);
    const bi = inbox(s.b.client);
    const c = await s.open();
    await c.register(PW);
    const lines = Array.from({ length: N }, (_, i) => `PRIVMSG bob :flood-${i}`);
    const t0 = performance.now();
    await c.send(...lines);
    await eventually(
      () => bi.msgs.filter((m) => m.text.startsWith("flood-")).length >= N,
      Math.max(120_000, N * 60),
      "every line",
    );
    const got = bi.msgs.filter((m) => m.text.startsWith("flood-")).map((m) => m.text);
    assert.deepEqual(got, lines.map((_, i) => `flood-${i}`), "none lost, none reordered");
    const ms = performance.now() - t0;
    console.log(`irc flood: ${N} lines in ${Math.round(ms)} ms, ${Math.round(N / (ms / 1000))} lines/s`);
  } finally {
    await s.stop();
  }
});

Deno.test("irc: replies, edits and deletions both ways (+draft/reply, draft/message-redaction, or readable lines)", async () => {
  const s = await setup();
  try {
    const changed: ChatMessage[] = [];
    s.b.client.on((e) => void (e.type === "message.changed" && changed.push(e.message)));
    const bi = inbox(s.b.client);
    const tagged = await s.open();
    await tagged.register(PW, ["message-tags", "draft/message-redaction", "echo-message"]);
    const plain = await s.open();
    await plain.register(PW);
    const orig = await s.b.client.send({ kind: "user", name: "alice" }, "original-text");
    await tagged.waitFor(new RegExp(`msgid=${orig.mid}.* PRIVMSG alice :original-text`));

    await tagged.send(`@+draft/reply=${orig.mid} PRIVMSG bob :an-answer`);
    const answer = (await eventually(() => bi.msgs.find((m) => m.text === "an-answer"), 5000, "the answer"))!;
    assert.equal(answer.replyTo, orig.mid);
    await s.b.client.send({ kind: "user", name: "alice" }, "bob-replies", { replyTo: answer.mid });
    await tagged.waitFor(new RegExp(`\\+draft/reply=${answer.mid}.* PRIVMSG alice :bob-replies$`));
    await plain.waitFor(/^:bob!bob@parley PRIVMSG alice :\(re alice: an-answer\) bob-replies$/);
    assert.ok(
      !tagged.lines.some((l) => l.includes("(re alice")),
      "the readable form only without message-tags",
    );

    await s.b.client.changes.changeMessage(orig.mid, { kind: "edit", text: "edited-text" });
    await tagged.waitFor(
      new RegExp(`\\+draft/reply=${orig.mid}.*:bob!bob@parley PRIVMSG alice :\\(edited\\) edited-text`),
    );
    await plain.waitFor(/^:bob!bob@parley PRIVMSG alice :\(edited\) edited-text$/);
    await s.b.client.changes.changeMessage(orig.mid, { kind: "delete" });
    await tagged.waitFor(new RegExp(`:bob!bob@parley REDACT alice ${orig.mid}$`));
    await plain.waitFor(/^:bob!bob@parley NOTICE alice :\(deleted a message\)$/);
    assert.ok(!plain.lines.some((l) => / REDACT /.test(l)), "no REDACT without the capability");
    assert.ok(
      !tagged.lines.some((l) => /NOTICE alice :\(deleted/.test(l)),
      "no readable form with the capability",
    );

    await tagged.send(`PRIVMSG *parley :edit ${answer.mid} answer-edited`);
    await eventually(
      () => changed.some((m) => m.mid === answer.mid && m.text === "answer-edited"),
      5000,
      "edited",
    );
    await tagged.send(`REDACT bob ${answer.mid}`);
    await eventually(() => changed.some((m) => m.mid === answer.mid && m.deleted), 5000, "deleted");
    await tagged.waitFor(new RegExp(`:alice!alice@parley REDACT bob ${answer.mid}$`));
    await plain.waitFor(/^:alice!alice@parley NOTICE bob :\(deleted a message\)$/);
  } finally {
    await s.stop();
  }
});

Deno.test("irc: labeled-response (ACK, one line, a batch) and standard-replies (FAIL for a refusal)", async () => {
  const s = await setup();
  try {
    const c = await s.open();
    await c.register(PW, ["labeled-response", "batch", "standard-replies", "message-tags"]);
    await c.send("@label=a1 PING x");
    await c.waitFor(/^@label=a1 :parley PONG parley :?x$/);
    await c.send("@label=a2 PONG x");
    await c.waitFor(/^@label=a2 :parley ACK$/);
    await c.send("@label=a3 NAMES &broadcast");
    const open = await c.waitFor(/^@label=a3 :parley BATCH \+l\d+ labeled-response$/);
    const id = /\+(l\d+)/.exec(open)![1];
    await c.waitFor(new RegExp(`^@batch=${id} :parley 353 alice = &broadcast :alice bob$`));
    await c.waitFor(new RegExp(`^@batch=${id} :parley 366 `));
    await c.waitFor(new RegExp(`^:parley BATCH -${id}$`));
    await c.send("@label=a4 PRIVMSG nobody-here :hi");
    await c.waitFor(/^@label=a4 :parley FAIL PRIVMSG [A-Z_]+ :.+/);
    const plain = await s.open();
    await plain.register(PW);
    await plain.send("@label=b1 PRIVMSG nobody-here :hi", "@label=b2 PING y");
    await plain.waitFor(/^:\*parley!\*parley@parley NOTICE alice :PRIVMSG refused: /);
    await plain.waitFor(/^:parley PONG parley :?y$/);
  } finally {
    await s.stop();
  }
});

Deno.test("irc: draft/chathistory — no playback pushed; LATEST, BEFORE, AFTER, BETWEEN and TARGETS in batches", async () => {
  const s = await setup();
  try {
    const first = await s.open();
    await first.register(PW);
    for (let i = 0; i < 5; i++) await s.b.client.send({ kind: "user", name: "alice" }, `h${i}`);
    await first.waitFor(/PRIVMSG alice :h4/);
    await first.send("PRIVMSG bob :mine");
    first.close();
    await eventually(() => s.irc.attached() === 0, 5000, "detached");
    await s.b.client.send({ kind: "user", name: "alice" }, "h5-missed");
    await eventually(
      async () => (await s.a.client.history({ kind: "user", name: "bob" })).length >= 7,
      5000,
      "kept",
    );
    const c = await s.open();
    await c.register(PW, ["draft/chathistory", "batch", "server-time", "message-tags"]);
    await c.waitFor(/ 005 alice .*CHATHISTORY=100/);
    await c.send("CHATHISTORY LATEST bob * 3");
    const open = await c.waitFor(/^:parley BATCH \+h\d+ chathistory bob$/);
    const id = /\+(h\d+)/.exec(open)![1]!;
    await c.waitFor(new RegExp(`^:parley BATCH -${id}$`));
    const inBatch = (bid: string) =>
      c.lines.filter((l) => l.includes(`batch=${bid}`)).map((l) => / :(\S+)$/.exec(l)![1]);
    assert.deepEqual(inBatch(id), ["h4", "mine", "h5-missed"]);
    assert.ok(
      !c.lines.some((l) => / BATCH \+p\d+ /.test(l) || (/:h5-missed$/.test(l) && !/batch=h/.test(l))),
      "no playback pushed",
    );
    const h4 = c.lines.find((l) => l.endsWith(":h4"))!;
    const mid = /msgid=([^; ]+)/.exec(h4)![1];
    await c.send(`CHATHISTORY BEFORE bob msgid=${mid} 2`, `CHATHISTORY AFTER bob msgid=${mid} 1`);
    await c.waitFor(/BATCH -h\d+$/, 5000, c.lines.length);
    await eventually(() => c.lines.filter((l) => /BATCH -h/.test(l)).length === 3, 5000, "two more batches");
    const ids = c.lines.filter((l) => /BATCH \+h/.test(l)).map((l) => /\+(h\d+)/.exec(l)![1]!);
    assert.deepEqual(inBatch(ids[1]!), ["h2", "h3"]);
    assert.deepEqual(inBatch(ids[2]!), ["mine"]);
    const t0 = new Date(Date.now() - 3600_000).toISOString(),
      t1 = new Date(Date.now() + 3600_000).toISOString();
    await c.send(
      `CHATHISTORY BETWEEN bob timestamp=${t0} msgid=${mid} 10`,
      `CHATHISTORY TARGETS timestamp=${t0} timestamp=${t1} 10`,
    );
    await c.waitFor(/^:parley BATCH \+h\d+ draft\/chathistory-targets$/);
    await c.waitFor(/CHATHISTORY TARGETS bob timestamp=/);
    const between = c.lines.filter((l) => /BATCH \+h/.test(l)).map((l) => /\+(h\d+)/.exec(l)![1]!)[3]!;
    assert.deepEqual(inBatch(between), ["h0", "h1", "h2", "h3"]);
    await c.send("CHATHISTORY SIDEWAYS bob * 5", "CHATHISTORY LATEST bob nonsense 5");
    await c.waitFor(/FAIL CHATHISTORY INVALID_PARAMS SIDEWAYS/);
    await c.waitFor(/FAIL CHATHISTORY INVALID_PARAMS LATEST/);
  } finally {
    await s.stop();
  }
});

Deno.test("irc: draft/read-marker — MARKREAD read, moved forward only, told to every client that asked and at attach", async () => {
  const s = await setup();
  try {
    const one = await s.open();
    await one.register(PW, ["draft/read-marker"]);
    const two = await s.open();
    await two.register(PW, ["draft/read-marker"]);
    const old = await s.open();
    await old.register(PW);
    await s.b.client.send({ kind: "user", name: "alice" }, "read me");
    await one.waitFor(/PRIVMSG alice :read me/);
    await one.send("MARKREAD bob");
    await one.waitFor(/^:parley MARKREAD bob :?\*$/);
    const t = new Date().toISOString();
    await one.send(`MARKREAD bob timestamp=${t}`);
    await two.waitFor(new RegExp(`^:parley MARKREAD bob :?timestamp=${t}$`));
    await one.waitFor(new RegExp(`^:parley MARKREAD bob :?timestamp=${t}$`));
    const n = one.lines.length;
    await one.send(
      "MARKREAD bob timestamp=2020-01-01T00:00:00.000Z",
      "MARKREAD bob nonsense",
      "MARKREAD #no room",
    );
    await one.waitFor(new RegExp(`^:parley MARKREAD bob :?timestamp=${t}$`), 5000, n);
    await one.waitFor(/FAIL MARKREAD INVALID_PARAMS bob/);
    await old.send("MARKREAD bob");
    await old.waitFor(/ 421 alice MARKREAD /);
    assert.ok(!old.lines.some((l) => /MARKREAD bob/.test(l)), "no MARKREAD without the capability");
    const three = await s.open();
    await three.register(PW, ["draft/read-marker"]);
    await three.waitFor(new RegExp(`^:parley MARKREAD bob :?timestamp=${t}$`));
  } finally {
    await s.stop();
  }
});

Deno.test("irc: an address other than loopback only with TLS, its certificate kept 0600 in the folder and pinned", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const o = { port: 0, password: PW, clock: systemClock, log: () => {} };
    await assert.rejects(() => startIrc(a.client, { ...o, host: "0.0.0.0" }), /only with TLS/);
    const home = `${t.dir}/irc-home`;
    let made = 0;
    const make = () => (made++, makeSelfSignedCert(["0.0.0.0"]));
    const pair = await ircCertificate(home, make);
    assert.deepEqual(await ircCertificate(home, make), pair, "made once, then read");
    assert.equal(made, 1);
    for (const f of ["irc-cert.pem", "irc-key.pem"]) {
      assert.equal((await Deno.stat(`${home}/${f}`)).mode! & 0o777, 0o600);
    }
    const irc = await startIrc(a.client, { ...o, host: "0.0.0.0", tls: pair });
    try {
      const c = await RawIrc.openTls(irc.port, pair.cert);
      await c.register(PW);
      await c.waitFor(/ 001 alice /);
      c.close();
      const other = await makeSelfSignedCert();
      await assert.rejects(async () => {
        const x = await RawIrc.openTls(irc.port, other.cert);
        await x.send("PING x");
        await x.waitFor(/PONG/, 2000);
      });
    } finally {
      irc.stop();
    }
  } finally {
    await t.stop();
  }
});
