/**
 * The full-screen client's file commands (issue 12) on a real server: the screen is the test
 * harness (`TuiApp` in a headless terminal) whose backend's `files` is a `FileDesk` over bob's real
 * end-to-end client, with that client's events forwarded (offer, transfer progress). An offer shows
 * in the sender's buffer and never as a chat line; `/files`, `/accept`, `/reject`, `/ls`, `/send`.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../lib/common/bytes.ts";
import { FileDesk } from "../lib/client/files/desk.ts";
import { FileTransfers } from "../lib/client/files/transfers.ts";
import { colsFor, harness } from "../lib/client/tui/testing.ts";
import { eventually, startTestServer } from "./helpers.ts";

Deno.test("TUI files: offer line, /files, /accept saves, /reject, /ls and /send from the outbox", async () => {
  const t = await startTestServer();
  // "Saved <downloads>/plan.txt …" on one line wherever the temp folder is (testing.ts colsFor)
  const h = await harness({ user: "bob", cols: colsFor(t.dir, 130), rows: 30 });
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    await a.client.sync();
    await b.client.sync();
    const transfers: string[] = [];
    const upTotals: number[] = [];
    b.client.on((e) => {
      if (e.type === "transfer") transfers.push(`${e.direction} ${e.state}`);
      if (e.type === "transfer" && e.direction === "up") upTotals.push(e.total);
      if (e.type !== "message") h.backend.emit(e);
    });
    const outbox = `${t.dir}/outbox`, downloads = `${t.dir}/downloads`;
    h.backend.files = new FileDesk(() => b.client, { outbox, downloads });
    const fa = FileTransfers.of(a.client);
    await Deno.writeTextFile(`${t.dir}/plan.txt`, "the plan");
    await Deno.writeTextFile(`${t.dir}/junk.txt`, "junk");
    await fa.send("bob", `${t.dir}/plan.txt`);
    await fa.send("bob", `${t.dir}/junk.txt`);
    await eventually(async () =>
      (await fa.serverFiles()).length === 2 && (await h.backend.files!.waiting()) === 2
    );
    let screen = (await h.type("/query alice\r")).join("\n");
    assert.match(
      screen,
      /alice offers plan\.txt \(8 B, key not verified\): \/accept or \/reject/,
    );
    screen = (await h.type("/files\r")).join("\n");
    assert.match(screen, / 1 {2}↓ plan\.txt {2}8 B {2}from alice {2}(\d{4}-\d\d-\d\d )?\d\d:\d\d {2}offered/);
    assert.match(screen, / 2 {2}↓ junk\.txt {2}4 B {2}from alice {2}(\d{4}-\d\d-\d\d )?\d\d:\d\d {2}offered/);
    screen = (await h.type("/reject 2\r")).join("\n");
    assert.match(screen, /Refused junk\.txt from alice/);
    await h.type("/accept\r");
    screen = (await eventually(
      async () => {
        const s = (await h.settle()).join("\n");
        return s.includes("Saved") ? s : "";
      },
      5000,
      "saved",
    ))!;
    assert.match(screen, new RegExp(`Saved ${downloads}/plan\\.txt \\(8 B\\) from alice`));
    assert.equal(await Deno.readTextFile(`${downloads}/plan.txt`), "the plan");
    assert.ok(transfers.includes("down done"), transfers.join());
    assert.equal(h.backend.callsOf("send").length, 0);
    // /accept with no file offered falls back to a stream offer (none here: an error).
    screen = (await h.type("/accept\r")).join("\n");
    assert.match(screen, /stream|offer/i);

    // /ls and /send ID from bob's outbox to alice.
    await Deno.mkdir(outbox);
    await Deno.writeFile(`${outbox}/b.bin`, new Uint8Array(40_000).fill(7));
    await Deno.writeTextFile(`${outbox}/a.txt`, "first");
    screen = (await h.type("/ls\r")).join("\n");
    assert.match(screen, / 1 {2}a\.txt {2}5 B .*\n.* 2 {2}b\.bin {2}39\.1 KiB/);
    // A bad path or id is its error line alone: nothing says it is sending (a day of real use).
    const shows = (what: string) =>
      eventually(
        async () => {
          const s = (await h.settle()).join("\n");
          return s.includes(what) ? s : "";
        },
        5000,
        what,
      );
    await h.type(`/send alice ${t.dir}/nonexistent\r`);
    assert.doesNotMatch((await shows(`There is no file ${t.dir}/nonexistent`))!, /Sending nonexistent/);
    await h.type("/send alice 9\r");
    assert.doesNotMatch((await shows("There is no file 9 in the outbox"))!, /Sending 9/);
    await h.type("/send alice 2\r");
    screen = (await eventually(
      async () => {
        const s = (await h.settle()).join("\n");
        return s.includes("Sent b.bin") ? s : "";
      },
      5000,
      "sent",
    ))!;
    const sum = await sha256Hex(new Uint8Array(40_000).fill(7));
    assert.match(screen, /Sent b\.bin \(39\.1 KiB\) to alice; SHA-256/);
    // Issue 34 point 9: the command names the file, not its outbox id; the transfer's one line in the
    // conversation ends with its final state (never frozen at "0 B … ETA ?"), in plaintext sizes.
    assert.match(screen, /Sending b\.bin to alice…/);
    assert.doesNotMatch(screen, /Sending 2 /);
    screen = (await eventually(
      async () => {
        const s = (await h.settle()).join("\n");
        return /│ ↑ b\.bin done/.test(s) && /│ ↓ plan\.txt done/.test(s) ? s : "";
      },
      5000,
      "final states in the conversation",
    ))!;
    assert.doesNotMatch(screen, /ETA/, "no progress line is left behind");
    assert.ok(upTotals.length > 0 && upTotals.every((n) => n === 40_000), `plaintext totals: ${upTotals}`);
    assert.ok(screen.includes(sum));
    const offer = await eventually(async () => (await fa.incoming()).find((r) => r.name === "b.bin"));
    assert.equal(offer!.sha256, sum);
  } finally {
    h.close();
    await t.stop();
  }
});
