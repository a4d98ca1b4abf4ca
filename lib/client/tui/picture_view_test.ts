import assert from "node:assert/strict";
import type { FileControls, FileEntryInfo } from "../backend.ts";
import type { ImageThumbnail } from "../../media/mod.ts";
import { demoWorld, harness } from "./testing.ts";

/** One file offered by bob (in `room`, when given); `/accept` saves it at /dl/NAME. */
function files(name: string, room?: string): FileControls {
  let offered = true;
  const entry = (): FileEntryInfo => ({
    ...(offered ? { n: 1 } : {}),
    fid: "f1",
    direction: "in",
    peer: "bob",
    name,
    size: 100,
    state: offered ? "offered" : "done",
  });
  return {
    outbox: () => Promise.resolve([]),
    send: () => Promise.reject(new Error("no")),
    sendRoom: () => Promise.reject(new Error("no")),
    list: () => Promise.resolve([entry()]),
    accept: () => {
      offered = false;
      return Promise.resolve({
        path: `/dl/${name}`,
        name,
        size: 100,
        from: "bob",
        ...(room ? { room } : {}),
      });
    },
    reject: () => Promise.resolve(entry()),
    waiting: () => Promise.resolve(offered ? 1 : 0),
  };
}

const red = (w: number, h: number): ImageThumbnail => ({
  ok: true,
  header: { format: "png", width: 640, height: 320 },
  image: {
    width: w,
    height: h,
    data: new Uint8Array(w * h * 3).map((_, i) => (i % 3 === 0 ? 255 : 0)),
    channels: 3,
  },
});

Deno.test("a picture is loaded only after /accept, drawn under its line, redrawn when it moves, gone when it scrolls away", async () => {
  const loads: { path: string; box: { width: number; height: number } }[] = [];
  const h = await harness({
    cols: 80,
    rows: 24,
    setup: (b) => (b.files = files("cat.png")),
    loadPicture: (path, box) => {
      loads.push({ path, box });
      return Promise.resolve(red(Math.min(box.width, 16), Math.min(box.height, 8)));
    },
  });
  try {
    await h.type("/query bob\r");
    // A full pane: the view is anchored at the bottom, so new lines move older ones up.
    for (let i = 0; i < 30; i++) h.backend.receive("bob", { kind: "user", name: "alice" }, `old ${i}`);
    await h.settle();
    assert.equal(loads.length, 0, "nothing read before /accept");
    let s = await h.type("/accept\r");
    assert.deepEqual(loads, [{ path: "/dl/cat.png", box: { width: 32, height: 16 } }]);
    const at = s.findIndex((l) => l.includes("🖼 cat.png 640×320 (Alt+V: full size)"));
    assert.ok(at > 0, s.join("\n"));
    // 16×8 half-block pixels: 4 rows of "▀" (a red top over a red bottom is a coloured space; red
    // over red here, so the cells are checked by colour) right under the line.
    const buf = h.term.buffer.active;
    const bg = (row: number, col: number) => buf.getLine(buf.baseY + row)?.getCell(col)?.getBgColor();
    const col = s[at]!.indexOf("🖼");
    for (let r = 1; r <= 4; r++) assert.equal(bg(at + r, col), 0xff0000, `row ${r} under the line`);
    assert.notEqual(bg(at + 5, col), 0xff0000);
    // A new message moves the line up one row: the picture follows (the screen is repainted whole).
    h.backend.receive("bob", { kind: "user", name: "alice" }, "meow");
    s = await h.settle();
    const at2 = s.findIndex((l) => l.includes("🖼 cat.png"));
    assert.equal(at2, at - 1);
    for (let r = 1; r <= 4; r++) assert.equal(bg(at2 + r, col), 0xff0000, `row ${r} after the move`);
    assert.notEqual(bg(at2 + 5, col), 0xff0000, "nothing left where it was");
    // Enough messages push it off the pane: no red cell stays behind.
    for (let i = 0; i < 25; i++) h.backend.receive("bob", { kind: "user", name: "alice" }, `line ${i}`);
    s = await h.settle();
    assert.ok(!s.some((l) => l.includes("🖼")));
    for (let r = 0; r < 24; r++) {
      for (let c = 0; c < 80; c++) assert.notEqual(bg(r, c), 0xff0000, `red left at ${r},${c}`);
    }
  } finally {
    h.close();
  }
});

Deno.test("a refused picture gets a line saying why; a file that is no picture gets none", async () => {
  let answer: ImageThumbnail = { ok: false, picture: true, reason: "it is 60000×60000 pixels, over the cap" };
  const h = await harness({
    cols: 160,
    setup: (b) => (b.files = files("bomb.png")),
    loadPicture: () => Promise.resolve(answer),
  });
  try {
    await h.type("/query bob\r");
    let s = (await h.type("/accept\r")).join("\n");
    assert.match(
      s,
      /Picture bomb\.png not shown: it is 60000×60000 pixels, over the cap \(saved at \/dl\/bomb\.png\)/,
    );
    h.backend.files = files("notes.txt");
    answer = { ok: false, picture: false, reason: "it is not a JPEG, PNG, WebP or GIF" };
    s = (await h.type("/accept\r")).join("\n");
    assert.match(s, /Saved \/dl\/notes\.txt/);
    assert.doesNotMatch(s, /notes\.txt not shown/);
  } finally {
    h.close();
  }
});

Deno.test("Alt+V shows the newest picture over the pane at the pane's size; Esc goes back", async () => {
  const boxes: { width: number; height: number }[] = [];
  const h = await harness({
    cols: 80,
    rows: 24,
    setup: (b) => (b.files = files("cat.png")),
    loadPicture: (_p, box) => {
      boxes.push(box);
      return Promise.resolve(red(box.width, box.height));
    },
  });
  try {
    await h.type("/query bob\r");
    let s = (await h.type("\x1bv")).join("\n");
    assert.match(s, /No picture in this conversation/);
    await h.type("/accept\r");
    s = (await h.type("\x1bv")).join("\n");
    assert.match(s, /cat\.png 640×320 — Esc: back/);
    assert.ok(boxes[1]!.width > 40 && boxes[1]!.height > 30, JSON.stringify(boxes));
    assert.doesNotMatch(s, /🖼/, "the conversation is hidden under the picture");
    await h.type("\x1b");
    h.app.flushInput(); // a lone ESC is the Escape key once the pause is over
    s = (await h.settle()).join("\n");
    assert.doesNotMatch(s, /Esc: back/);
    assert.match(s, /🖼 cat\.png/);
  } finally {
    h.close();
  }
});

Deno.test("with kitty graphics the thumbnail is a kitty image at the cell size's pixels, deleted when it leaves", async () => {
  const boxes: { width: number; height: number }[] = [];
  const h = await harness({
    cols: 80,
    rows: 24,
    setup: (b) => (b.files = files("cat.png")),
    loadPicture: (_p, box) => {
      boxes.push(box);
      return Promise.resolve(red(box.width, box.height / 2));
    },
  });
  try {
    h.app.video.graphics = { kind: "kitty", cellWidth: 10, cellHeight: 20 };
    await h.type("/query bob\r");
    const from = h.writes.length;
    await h.type("/accept\r");
    assert.deepEqual(boxes, [{ width: 320, height: 160 }]);
    const out = h.writes.slice(from).join("");
    // deno-lint-ignore no-control-regex
    const id = /\x1b_G[^;]*a=T[^;]*i=(\d+)/.exec(out)?.[1] ?? /\x1b_G[^;]*i=(\d+)[^;]*a=T/.exec(out)?.[1];
    assert.ok(id, "a kitty image was placed");
    const mark = h.writes.length;
    for (let i = 0; i < 30; i++) h.backend.receive("bob", { kind: "user", name: "alice" }, `line ${i}`);
    await h.settle();
    assert.match(
      h.writes.slice(mark).join(""),
      new RegExp(`\\x1b_Ga=d,d=I,i=${id}[,;\\x1b]`),
      "deleted once gone",
    );
  } finally {
    h.close();
  }
});

Deno.test("a room's file: its offer, withdrawal and picture are in the room's buffer, not the sender's DM (issue 71.4)", async () => {
  const h = await harness({
    setup: (b) => (demoWorld(b), b.files = files("pic.png", "general")),
    loadPicture: () => Promise.resolve(red(16, 8)),
  });
  try {
    const offer = { fid: "f1", from: "bob", name: "pic.png", size: 100, sha256: "", room: "general" };
    h.backend.emit({ type: "file.offer", offer });
    let s = await h.type("\x1b2");
    assert.equal(s[23], "[#general]");
    assert.ok(s.some((l) => l.includes("bob offers pic.png to #general")), s.join("\n"));
    assert.ok(!s.some((l) => /\d\.bob\b/.test(l)), `no DM buffer with bob:\n${s.join("\n")}`);
    // Accepted from another buffer: the picture goes under a line of #general.
    await h.type("\x1b3/accept\r");
    s = await h.settle();
    assert.ok(!s.some((l) => l.includes("🖼")), `not in #random:\n${s.join("\n")}`);
    s = await h.type("\x1b2");
    assert.ok(s.some((l) => l.includes("🖼 pic.png 640×320")), s.join("\n"));
    h.backend.emit({ type: "file.withdrawn", fid: "f2", from: "bob", name: "old.zip", room: "general" });
    s = await h.settle();
    assert.ok(s.some((l) => l.includes("bob withdrew old.zip in #general")), s.join("\n"));
    assert.ok(!s.some((l) => /\d\.bob\b/.test(l)), `no DM buffer with bob:\n${s.join("\n")}`);
  } finally {
    h.close();
  }
});
