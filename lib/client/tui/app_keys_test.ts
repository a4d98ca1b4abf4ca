// deno-lint-ignore-file no-control-regex
import assert from "node:assert/strict";
import type { BackendError } from "../backend.ts";
import { checkTextSize } from "../core/message_size.ts";
import { pathCompletions } from "../files/disk.ts";
import { colsFor, demoWorld, harness, type HarnessOptions } from "./testing.ts";

const general = { kind: "room" as const, name: "general" };

const open = (o: HarnessOptions = {}) => harness({ setup: demoWorld, ...o });

Deno.test("TuiApp completes nicks, commands and rooms with Tab and cycles", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive("carol", general, "hey");
  let s = await h.type("c\t");
  assert.equal(s[23], "[#general] carol:");
  s = await h.type("\t"); // the only candidate stays
  assert.equal(s[23], "[#general] carol:");
  await h.type("\x15/inv\t");
  s = await h.type("b\t");
  assert.equal(s[23], "[#general] /invite bob");
  await h.type("\x15see #ra\t:smil");
  s = await h.type("\t");
  assert.match(s[23]!, /^\[#general\] see #random :smile[a-z_]*:$/);
  h.close();
});

Deno.test("TuiApp keeps the view still while reading history and shows -MORE-", async () => {
  const h = await open();
  await h.type("\x1b2");
  for (let i = 0; i < 60; i++) h.backend.receive("bob", general, `message ${i}`);
  let s = await h.type("\x1b[5~");
  const view = s.slice(1, 22);
  assert.match(s[22]!, /-MORE\(\d+\)-$/);
  for (let i = 60; i < 70; i++) h.backend.receive("carol", general, `later ${i}`);
  s = await h.settle();
  assert.deepEqual(s.slice(1, 22), view);
  s = await h.type("\x1b[6~\x1b[6~\x1b[6~\x1b[6~");
  assert.match(s[21]!, /later 69/);
  assert.doesNotMatch(s[22]!, /MORE/);
  h.close();
});

Deno.test("TuiApp searches the scrollback with Ctrl-F", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive("bob", general, "the needle is here");
  for (let i = 0; i < 40; i++) h.backend.receive("bob", general, `hay ${i}`);
  let s = await h.type("\x06needle");
  assert.equal(s[23], "(search) needle");
  assert.ok(s.some((l) => l.includes("the needle is here")));
  s = await h.type("\x1b");
  h.app.flushInput();
  s = await h.settle();
  assert.ok(!s.some((l) => l.includes("the needle")));
  assert.equal(s[23], "[#general]");
  h.close();
});

Deno.test("TuiApp edits with readline keys and keeps input history per buffer", async () => {
  const h = await open();
  await h.type("\x1b2hello world\x01\x1b[C\x17X\x05!");
  let s = await h.settle();
  assert.equal(s[23], "[#general] Xello world!");
  await h.type("\x15first in general\r\x1b3second in random\r\x1b2");
  s = await h.type("\x1b[A");
  assert.equal(s[23], "[#general] first in general");
  s = await h.type("\x1b[B\x1b3\x1b[A");
  assert.equal(s[23], "[#random] second in random");
  h.close();
});

Deno.test("TuiApp switches buffers with Alt+digit and Ctrl-N/Ctrl-P and toggles side lists", async () => {
  const h = await open();
  let s = await h.type("\x0e");
  assert.equal(s[23], "[#general]");
  s = await h.type("\x10\x10");
  assert.equal(s[23], "[#random]");
  s = await h.type("\x1b[18~\x1b[19~");
  assert.ok(!s[1]!.includes("│"));
  s = await h.type("\x1b[18~");
  assert.match(s[1]!, /^1\.status/);
  h.close();
});

Deno.test("TuiApp repaints the whole screen on Ctrl-L", async () => {
  const h = await open();
  const n = h.writes.length;
  await h.type("\x0c");
  assert.match(h.writes[n]!, /\x1b\[2J/);
  assert.match(h.writes[n]!, /Welcome to Parley/);
  h.close();
});

Deno.test("TuiApp keeps a bracketed paste's lines (⏎ in the input), Alt+Enter adds one, Enter sends one message", async () => {
  const h = await open();
  await h.type("\x1b2");
  const s = await h.type("\x1b[200~line one\r\nline two\x1b[31m\n\n\x1b[201~");
  assert.equal(s[23], "[#general] line one⏎line two [31m", "no control character, no blank line at its end");
  assert.equal(h.backend.callsOf("send").length, 0, "a paste is not sent by itself");
  await h.type("\r");
  assert.deepEqual(h.backend.callsOf("send"), [[general, "line one\nline two [31m"]]);
  // Alt+Enter (ESC CR) breaks a line while typing.
  await h.type("a");
  await h.type("\x1b\r");
  const typed = await h.type("b");
  assert.equal(typed[23], "[#general] a⏎b");
  await h.type("\r");
  assert.deepEqual(h.backend.callsOf("send").at(-1), [general, "a\nb"]);
  h.close();
});

Deno.test("TuiApp tells the backend when the user types and stops", async () => {
  const h = await open();
  h.backend.withTyping();
  await h.type("\x1b2h");
  await h.type("i");
  h.clock.advance(4000);
  await h.type("!");
  await h.type("\r");
  assert.deepEqual(h.backend.callsOf("typing"), [[general, true], [general, true], [general, false]]);
  h.close();
});

Deno.test("TuiApp Tab completes offline registered users, videos after /play and paths after /send (issue 34.15)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/report.pdf`, "x");
    await Deno.mkdir(`${dir}/photos`);
    const h = await open({
      setup: (b) => {
        demoWorld(b);
        b.withRemote({
          users: () => Promise.resolve([{ user: "zelda", role: "user" }, { user: "alice", role: "user" }]),
        });
        b.videoList = [{
          name: "sample",
          duration: 10,
          fps: 24,
          width: 1280,
          height: 720,
          renditions: ["240p"],
        }];
      },
      listPaths: pathCompletions,
      cols: Math.max(80, colsFor(dir, 50)), // the input line shows the whole path wherever the temp folder is
    });
    let s = await h.type("/msg zel\t");
    assert.match(s[23]!, /\/msg zelda$/, "zelda is registered but offline");
    s = await h.type("\x15/play sa\t");
    assert.match(s[23]!, /\/play sample$/);
    s = await h.type(`\x15/send bob ${dir}/rep\t`);
    assert.ok(s[23]!.endsWith(`/send bob ${dir}/report.pdf`), s[23]);
    s = await h.type(`\x15/stream bob ${dir}/ph\t`);
    assert.ok(s[23]!.endsWith(`/stream bob ${dir}/photos/`), s[23]);
    h.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TuiApp takes a paste of 300 KB whole and sends it; one over the server's cap is refused with send's size error (issue 71.1)", async () => {
  const h = await open();
  await h.type("\x1b2");
  const big = "0123456789".repeat(30_000) + " the end";
  let s = await h.type(`\x1b[200~${big}\x1b[201~`);
  assert.ok(!s.some((l) => l.includes("Internal error")), s.join("\n"));
  assert.match(s[23]!, /^\[#general\] .*6789 the end$/, "the input shows the paste's end");
  await h.type("\r");
  assert.deepEqual(h.backend.callsOf("send"), [[general, big]], "sent whole, as one message");
  // Over the cap: the words the scripted `send` gives (core/message_size.ts), not a stack overflow.
  const cap = 1024 * 1024; // the server's default frame cap (protocol/frame.ts)
  const huge = "x".repeat(cap + 1000);
  const refusal = (() => {
    try {
      checkTextSize(huge, cap, 1, true);
    } catch (e) {
      return e as BackendError;
    }
  })()!;
  h.backend.failures.set("send", refusal);
  s = await h.type(`\x1b[200~${huge}\x1b[201~`);
  assert.ok(!s.some((l) => l.includes("Internal error")), s.join("\n"));
  s = await h.type("\r");
  assert.equal(h.backend.callsOf("send").at(-1)?.[1], huge);
  assert.ok(s.some((l) => l.includes("Not sent: The message is too long")), s.join("\n"));
  h.close();
});
