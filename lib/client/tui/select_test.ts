/**
 * Selection mode (select.ts) on a screen: the keys, what they send to the backend (a fake one that
 * applies edits, deletions and reactions like the real client and announces them), the banner
 * between the status line and the input line, scrolling to the selected message.
 */
import assert from "node:assert/strict";
import type { ChatMessage, MessageChange, Target } from "../backend.ts";
import type { FakeBackend } from "./fake_backend.ts";
import { demoWorld, harness } from "./testing.ts";
import { ChatBuffer, type Line } from "./buffers.ts";
import { reveal } from "./select.ts";

const general = { kind: "room" as const, name: "general" };
const ALT_S = "\x1bs";
const UP = "\x1b[A";

/** Gives the fake backend replies, changes and edit histories, applied as ChatClient does. */
function withChanges(b: FakeBackend) {
  const msgs = new Map<string, ChatMessage>();
  const edits = new Map<string, { at: number; text: string }[]>();
  const replies: (string | undefined)[] = [];
  b.on((e) => e.type === "message" && msgs.set(e.message.mid, e.message));
  const send = b.send.bind(b);
  const changeMessage = (ref: string, c: MessageChange): Promise<ChatMessage> => {
    const m = { ...msgs.get(ref)! };
    if (c.kind === "edit") {
      edits.set(ref, [...edits.get(ref) ?? [], { at: b.now(), text: m.text }]);
      Object.assign(m, { text: c.text, edited: b.now() });
    } else if (c.kind === "delete") Object.assign(m, { text: "", deleted: true });
    else {
      const rs = { ...m.reactions };
      const who = (rs[c.emoji] ?? []).filter((u) => u !== b.user);
      if (c.on) who.push(b.user);
      if (who.length) rs[c.emoji] = who;
      else delete rs[c.emoji];
      m.reactions = rs;
    }
    msgs.set(ref, m);
    b.emit({ type: "message.changed", message: m });
    return Promise.resolve(m);
  };
  Object.assign(b, {
    send: async (t: Target, text: string, o?: { replyTo?: string }) => {
      replies.push(o?.replyTo);
      const m = { ...await send(t, text), ...(o?.replyTo ? { replyTo: o.replyTo } : {}) };
      msgs.set(m.mid, m);
      return m;
    },
    changes: {
      changeMessage,
      react: (ref: string, emoji: string) =>
        changeMessage(ref, {
          kind: "react",
          emoji,
          on: !msgs.get(ref)?.reactions?.[emoji]?.includes(b.user),
        }),
      editsOf: (ref: string) => Promise.resolve(edits.get(ref) ?? []),
      setExpiry: () => Promise.reject(new Error("not in this test")),
      expiry: () => Promise.resolve(0),
    },
  });
  return { msgs, replies };
}

async function selecting() {
  const h = await harness({ setup: demoWorld });
  const fx = withChanges(h.backend);
  await h.type("\x1b2");
  return { h, ...fx };
}

/** Sends Esc alone (the decoder waits to tell it from Alt+key). */
async function esc(h: Awaited<ReturnType<typeof harness>>) {
  await h.type("\x1b");
  h.app.flushInput();
  return await h.settle();
}

Deno.test("selection mode: Alt+S picks the newest message, ↑/k move (the view follows), r replies to it with its quote above the input", async () => {
  const { h, replies } = await selecting();
  const sent: ChatMessage[] = [];
  for (let i = 0; i < 40; i++) sent.push(h.backend.receive("bob", general, `message ${i}`));
  let s = await h.type("\x1b[1;5A"); // Ctrl+Up
  assert.match(s[22]!, /^Selected bob's message — ↑↓ move, r reply/);
  const inverse = (text: string) => {
    const y = s.findIndex((l) => l.includes(text));
    const cell = h.term.buffer.active.getLine(h.term.buffer.active.baseY + y)?.getCell(s[y]!.indexOf(text));
    return !!cell?.isInverse();
  };
  assert.ok(inverse("message 39") && !inverse("message 38"), "the newest message is drawn highlighted");
  s = await esc(h);
  assert.match(s[22]!, /\[2:#general\]/, "Esc leaves");
  s = await h.type(ALT_S);
  assert.match(s[22]!, /^Selected bob's message/, "Alt+S selects too");
  assert.match(s[21]!, /\[2:#general\]/, "the status line moved up one row");
  for (let i = 0; i < 30; i++) await h.type(i % 2 ? UP : "k");
  s = await h.settle();
  assert.ok(s.some((l) => /│ message 9 /.test(l)), "the view scrolled to the selected message");
  assert.match(s[21]!, /-MORE\(\d+\)-/);
  s = await h.type("r");
  assert.match(s[22]!, /^↪ Reply to bob: message 9 — Enter sends, Esc cancels/);
  s = await h.type("sure\r");
  assert.deepEqual(replies, [sent[9]!.mid], "sent as a reply to the selected message");
  assert.match(s[22]!, /\[2:#general\]/, "the banner is gone, the status line is back");
  assert.ok(s.some((l) => l.includes("↪ bob: message 9")), "the quote shows with the reply");
  assert.doesNotMatch(s[22]!, /MORE/, "the view follows the newest line again");
  h.close();
});

Deno.test("selection mode: e edits one's own message (prefilled), h shows its history, + reacts and toggles off, d asks y/n", async () => {
  const { h, msgs } = await selecting();
  await h.type("lunch at noon?\r");
  const mine = h.backend.sent[0]!.mid;
  h.backend.receive("bob", general, "what time?");
  await h.type(ALT_S + "e");
  let s = await h.settle();
  assert.match(s[22]!, /^Selected bob's message/, "e on someone else's message stays in selection");
  assert.ok(s.some((l) => l.includes("You can edit only your own messages")));
  s = await h.type("k");
  s = await h.type("e");
  assert.match(s[22]!, /^✎ Edit your message/);
  assert.equal(s[23], "[#general] lunch at noon?", "the input line holds its text");
  s = await h.type("\x15lunch at one?\r");
  assert.ok(s.some((l) => l.includes("lunch at one? (edited)")));
  s = await h.type(ALT_S + "k" + "h");
  assert.match(s[20]!, /^Edits of your message, oldest first/);
  assert.match(s[21]!, /^ {2}12:00 {2}lunch at noon\?$/);
  assert.match(s[22]!, /^ {2}12:00 {2}lunch at one\? \(now\)$/);
  s = await esc(h);
  assert.match(s[22]!, /^Selected your message/, "Esc closes the history, the message stays selected");
  s = await h.type("+");
  assert.equal(s[23], "[#general] /react :");
  s = await h.type("thumbsu\t");
  assert.equal(s[23], "[#general] /react :thumbsup:", "Tab completes the emoji");
  s = await h.type("\r");
  assert.ok(s.some((l) => /👍.? 1 \(alice\)/.test(l)), "the reaction under the message");
  assert.deepEqual(msgs.get(mine)?.reactions, { "👍": ["alice"] }, "on the selected message");
  s = await h.type(ALT_S + "k+thumbsup:\r");
  assert.ok(!s.some((l) => l.includes("1 (alice)")), "the same reaction again takes it back");
  s = await h.type(ALT_S + "kd");
  assert.match(s[22]!, /^Delete your message "lunch at one\?" for everyone\? y\/n/);
  s = await h.type("n");
  assert.match(s[22]!, /^Selected your message/, "n keeps the message");
  s = await h.type("dy");
  assert.ok(s.some((l) => l.includes("(message deleted)")));
  assert.ok(!s.some((l) => l.includes("lunch at one?")));
  assert.match(s[22]!, /\[2:#general\]/, "selection mode ended");
  h.close();
});

Deno.test("selection mode: / types a command on the selected message (/react, /edit, /delete act on it); Esc leaves", async () => {
  const { h, msgs } = await selecting();
  const first = h.backend.receive("bob", general, "first");
  h.backend.receive("bob", general, "second");
  await h.type(ALT_S + "k");
  let s = await h.type("+");
  s = await h.type("\x15/react :tada:\r");
  assert.deepEqual(msgs.get(first.mid)?.reactions, { "🎉": ["alice"] });
  assert.ok(s.some((l) => /🎉.? 1 \(alice\)/.test(l)));
  s = await h.type(ALT_S + "k/");
  assert.match(s[22]!, /^A command on bob's message: first/);
  s = await h.type("edit nope\r");
  assert.ok(
    s.some((l) => l.includes("You can edit only your own messages")),
    "/edit refuses another's message",
  );
  s = await h.type(ALT_S + "k/delete\r");
  assert.equal(
    msgs.get(first.mid)?.deleted,
    true,
    "/delete acts on the selected message (the backend decides)",
  );
  s = await h.type(ALT_S);
  s = await h.type("x"); // a letter that is no key here does nothing
  assert.equal(s[23], "[#general]");
  s = await esc(h);
  assert.match(s[22]!, /\[2:#general\]/);
  s = await h.type(ALT_S + "\x1b1");
  assert.match(s[22]!, /\[1:status\]/, "switching buffers leaves selection mode");
  s = await h.type(ALT_S);
  assert.ok(s.some((l) => l.includes("There is no message here to select")));
  h.close();
});

Deno.test("a setting line (a disappearing time) is skipped: Alt+S and /react take the text before it", async () => {
  const { h, msgs } = await selecting();
  const text = h.backend.receive("bob", general, "a text of bob's");
  h.backend.receive("bob", general, "⏱ messages here now disappear 1d after they are sent", {
    setting: true,
  });
  let s = await h.type(ALT_S);
  assert.match(s[22]!, /^Selected bob's message/);
  s = await h.type("+thumbsup:\r");
  assert.deepEqual(msgs.get(text.mid)?.reactions, { "👍": ["alice"] }, "the text, not the setting line");
  await h.type("/react :tada:\r");
  assert.deepEqual(msgs.get(text.mid)?.reactions, { "👍": ["alice"], "🎉": ["alice"] });
  h.close();
});

Deno.test("reveal() scrolls the least that shows every row of a line (its first rows when taller than the pane)", () => {
  const buf = new ChatBuffer("room", "r");
  const rows = [1, 3, 1, 1, 6, 1, 1, 1];
  const lines: Line[] = rows.map((n, i) => ({
    ts: i,
    from: "bob",
    text: `l${i}:${n}`,
    kind: "msg",
    highlight: false,
  }));
  for (const l of lines) buf.add(l, true);
  const measure = (l: Line) => rows[lines.indexOf(l)]!;
  reveal(buf, lines[7]!, 4, measure);
  assert.equal(buf.scroll, null, "the newest line is shown when following");
  reveal(buf, lines[4]!, 4, measure); // 6 rows in a 4-row pane: its first 4
  assert.deepEqual(buf.scroll, { line: lines[4], skip: 2 });
  reveal(buf, lines[1]!, 4, measure); // above the view: its first row at the top
  assert.deepEqual(buf.scroll, { line: lines[2], skip: 0 });
  reveal(buf, lines[2]!, 4, measure); // shown already: nothing moves
  assert.deepEqual(buf.scroll, { line: lines[2], skip: 0 });
  reveal(buf, lines[5]!, 4, measure); // below the view: it becomes the bottom line
  assert.deepEqual(buf.scroll, { line: lines[5], skip: 0 });
  buf.scroll = { line: lines[4]!, skip: 1 };
  reveal(buf, lines[4]!, 4, measure); // its last row hidden below: shown
  assert.deepEqual(buf.scroll, { line: lines[4], skip: 0 });
});
