/**
 * `parley irc`'s edits (issue 72) as the draft/message-edit draft names them: an `EDIT` with
 * `draft/target-msgid` and `draft/edit-text` for a client that negotiated it, "(edited) text" for the
 * others; an `EDIT` from IRC edits one's message on Parley (a full client sees it), a refusal is a
 * FAIL EDIT with the draft's codes. Over raw sockets.
 */
import assert from "node:assert/strict";
import { eventually, startTestServer } from "./helpers.ts";
import { localIrc, RawIrc } from "./irc_testing.ts";
import type { ChatMessage } from "../lib/client/backend.ts";

const PW = "irc-edit-secret-0123456";

Deno.test("irc edits: EDIT (draft/message-edit) both ways, readable lines for clients without it", async () => {
  const t = await startTestServer();
  const a = await t.e2eClient("alice");
  const b = await t.e2eClient("bob");
  await b.client.sync();
  const irc = await localIrc(a.client, PW);
  const conns: RawIrc[] = [];
  const open = async (caps: string[] | null) => {
    const c = await RawIrc.open(irc.port);
    conns.push(c);
    await c.register(PW, caps);
    return c;
  };
  try {
    const changed: ChatMessage[] = [];
    b.client.on((e) => void (e.type === "message.changed" && changed.push(e.message)));
    const editing = await open(["message-tags", "draft/message-edit", "echo-message", "standard-replies"]);
    const tagged = await open(["message-tags"]);
    const plain = await open(null);

    const orig = await b.client.send({ kind: "user", name: "alice" }, "anex ample");
    await plain.waitFor(/PRIVMSG alice :anex ample$/);
    await b.client.changes.changeMessage(orig.mid, { kind: "edit", text: "an example; fixed" });
    const ed = await editing.waitFor(/ EDIT alice$/);
    assert.match(ed, new RegExp(`draft/target-msgid=${orig.mid}[; ]`));
    assert.match(ed, /draft\/edit-text=an\\sexample\\:\\sfixed[; ]/, "the tag value escaped");
    assert.match(ed, /:bob!bob@parley EDIT alice$/);
    await plain.waitFor(/^:bob!bob@parley PRIVMSG alice :\(edited\) an example; fixed$/);
    await tagged.waitFor(
      new RegExp(`\\+draft/reply=${orig.mid}.* PRIVMSG alice :\\(edited\\) an example; fixed$`),
    );
    assert.ok(!editing.lines.some((l) => l.includes("(edited)")), "no readable line with the capability");
    assert.ok(!plain.lines.some((l) => / EDIT /.test(l)) && !tagged.lines.some((l) => / EDIT /.test(l)));

    await editing.send("PRIVMSG bob :helo");
    const echo = await editing.waitFor(/PRIVMSG bob :helo$/);
    const mine = /msgid=([^; ]+)/.exec(echo)![1]!;
    await editing.send(`@draft/target-msgid=${mine};draft/edit-text=hello\\sthere EDIT bob`);
    await eventually(
      () => changed.some((m) => m.mid === mine && m.text === "hello there"),
      10_000,
      "bob sees it",
    );
    await editing.waitFor(new RegExp(`target-msgid=${mine}.*:alice!alice@parley EDIT bob$`), 10_000);
    await plain.waitFor(/^:alice!alice@parley PRIVMSG bob :\(edited\) hello there$/);

    const n = editing.lines.length;
    await editing.send(`@draft/target-msgid=${orig.mid};draft/edit-text=not\\smine EDIT alice`);
    await editing.waitFor(new RegExp(`FAIL EDIT EDIT_FORBIDDEN alice ${orig.mid} :`), 10_000, n);
    await editing.send("EDIT bob");
    await editing.waitFor(/FAIL EDIT INVALID_EDIT bob :/, 10_000, n);
    await plain.send(`@draft/target-msgid=${mine};draft/edit-text=x EDIT bob`);
    await plain.waitFor(/ 421 alice EDIT :Unknown command/);
  } finally {
    for (const c of conns) c.close();
    irc.stop();
    await t.stop();
  }
});
