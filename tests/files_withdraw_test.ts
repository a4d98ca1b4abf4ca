/**
 * Taking a file back (a day of real use: a withdrawn offer stayed "offered" with its recipient until
 * they tried it, and a sender had no way to take one back on a server). The sender withdraws a file
 * its recipient does not have yet (`FileTransfers.withdraw`, `parley files withdraw FID`, `/withdraw
 * N`); an upload that ends for good withdraws itself. Either way the server forgets its copy and the
 * recipient — every member, for a room's file — is told end to end: its offer says withdrawn at once
 * and the screen says who took what back. And an offer taken on another device of the recipient says
 * so when this one tries it, not "no such file".
 */
import assert from "node:assert/strict";
import { FileTransfers, type TransferProgress } from "../lib/client/files/transfers.ts";
import { FileDesk } from "../lib/client/files/desk.ts";
import type { BackendEvent } from "../lib/client/backend.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import { eventually, runAs, startTestServer, type TestServer } from "./helpers.ts";
import { linkDevice } from "./link_device.ts";

async function writeFile(t: TestServer, name: string, n: number): Promise<string> {
  await Deno.mkdir(`${t.dir}/src`, { recursive: true });
  const p = `${t.dir}/src/${name}`;
  await Deno.writeFile(p, new Uint8Array(n).map((_, i) => (i * 7) & 255));
  return p;
}

/** The "file.withdrawn" events `c` hears. */
function heard(c: ChatClient): Extract<BackendEvent, { type: "file.withdrawn" }>[] {
  const got: Extract<BackendEvent, { type: "file.withdrawn" }>[] = [];
  c.on((e) => e.type === "file.withdrawn" && got.push(e));
  return got;
}

/** Alice and bob, each with a client folder, following the feed. */
async function pair(t: TestServer) {
  const a = await t.e2eClient("alice");
  const b = await t.e2eClient("bob");
  for (const x of [a, b]) await x.client.sync();
  return { a, b };
}

const inState = async (c: ChatClient, fid: string) =>
  (await FileTransfers.of(c).incoming()).find((r) => r.fid === fid)?.state;

Deno.test("files: a sender withdraws a file; its recipient is told at once and cannot take it", async () => {
  const t = await startTestServer();
  try {
    const { a, b } = await pair(t);
    const told = heard(b.client);
    const fa = FileTransfers.of(a.client);
    const sent = await fa.send("bob", await writeFile(t, "draft.pdf", 300_000), "relay");
    await eventually(
      async () => (await inState(b.client, sent.fid)) === "offered",
      5000,
      "bob was offered it",
    );
    const r = await fa.withdraw(sent.fid.slice(0, 6)); // the start of its id is enough
    assert.equal(r.state, "withdrawn");
    assert.equal(t.srv.files.get(sent.fid), undefined, "the server forgot its copy");
    await eventually(() => told.length === 1, 5000, "bob's client heard it");
    assert.deepEqual({ ...told[0] }, {
      type: "file.withdrawn",
      fid: sent.fid,
      from: "alice",
      name: "draft.pdf",
    });
    assert.equal(await inState(b.client, sent.fid), "withdrawn");
    const fb = FileTransfers.of(b.client);
    await assert.rejects(
      fb.accept({ fid: sent.fid, from: "alice" }, `${t.dir}/down`),
      /no such file offer waiting/,
    );
    assert.equal((await fa.outgoing())[0]?.state, "withdrawn", "alice's record says so; nothing resumes it");
    await assert.rejects(fa.withdraw(sent.fid), /has ended already \(withdrawn\)/);
    await assert.rejects(fa.withdraw("zzzzzz"), /You sent no file zzzzzz/);
    await assert.rejects(fa.withdraw(sent.fid.slice(0, 3)), /is too short: give 4 or more characters/);
  } finally {
    await t.stop();
  }
});

Deno.test("files: a file its recipient has cannot be withdrawn", async () => {
  const t = await startTestServer();
  try {
    const { a, b } = await pair(t);
    const fa = FileTransfers.of(a.client);
    const sent = await fa.send("bob", await writeFile(t, "ok.txt", 5000), "relay");
    await eventually(async () => (await inState(b.client, sent.fid)) === "offered", 5000, "offered");
    await FileTransfers.of(b.client).accept({ fid: sent.fid, from: "alice" }, `${t.dir}/down`, {
      direct: false,
    });
    await assert.rejects(fa.withdraw(sent.fid), /bob has ok\.txt already/);
    assert.equal(await inState(b.client, sent.fid), "done");
  } finally {
    await t.stop();
  }
});

Deno.test("files: an upload that ends for good on its own tells its recipient too", async () => {
  const t = await startTestServer();
  try {
    const { a, b } = await pair(t);
    const told = heard(b.client);
    const p = await writeFile(t, "log.txt", 3 * 1024 * 1024);
    // The file grows while it goes: the upload ends (file_changed) after its offer went out in this run.
    let bodies = 0;
    const fa = new FileTransfers(a.client, FileTransfers.of(a.client).ops, (pr: TransferProgress) => {
      if (pr.state === "active" && ++bodies === 2) {
        Deno.writeFileSync(p, new Uint8Array(10), { append: true });
      }
    });
    await assert.rejects(fa.send("bob", p, "relay"), /changed/);
    const [rec] = await fa.outgoing();
    assert.equal(rec?.state, "failed");
    await eventually(() => told.length === 1, 5000, "bob's client heard it");
    assert.equal(await inState(b.client, rec!.fid), "withdrawn");
  } finally {
    await t.stop();
  }
});

Deno.test("files: a room's file withdrawn is withdrawn for every member; the desk numbers what can be", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    const c = await t.e2eClient("carol");
    for (const x of [a, b, c]) await x.client.sync();
    await a.client.commands.createRoom("team", ["bob", "carol"]);
    await a.client.send({ kind: "room", name: "team" }, "hello");
    const told = [heard(b.client), heard(c.client)];
    const desk = new FileDesk(() => a.client, { outbox: `${t.dir}/out`, downloads: `${t.dir}/down` });
    await desk.sendRoom("#team", await writeFile(t, "deck.pdf", 100_000));
    const s = (await FileTransfers.of(a.client).outgoing())[0]!;
    for (const x of [b, c]) {
      await eventually(async () => (await inState(x.client, s.fid)) === "offered", 5000, "offered");
    }
    const listed = (await desk.list()).filter((e) => e.direction === "out");
    assert.deepEqual(listed.map((e) => [e.w, e.peer, e.state]), [[1, "#team", "sent"]]);
    const r = await desk.withdraw(1);
    assert.equal(r.state, "withdrawn");
    for (const [i, x] of [b, c].entries()) {
      await eventually(() => told[i]!.length === 1, 5000, "each member heard it");
      assert.equal(told[i]![0]!.room, "team");
      assert.equal(await inState(x.client, s.fid), "withdrawn");
    }
    assert.deepEqual((await desk.list()).map((e) => [e.w, e.state]), [[undefined, "withdrawn"]]);
    await assert.rejects(desk.withdraw(1), /There is no file 1 being sent/);
  } finally {
    await t.stop();
  }
});

Deno.test("scripted: parley files withdraw FID takes a file back; both sides' files say withdrawn", async () => {
  const t = await startTestServer();
  const cli = async (user: string, ...args: string[]) => {
    const r = await runAs(t, user, args);
    return { code: r.code, out: r.out.trim(), err: r.err.trim() };
  };
  try {
    for (const u of ["alice", "bob"]) assert.equal((await cli(u, "register")).code, 0);
    await Deno.writeTextFile(`${t.dir}/note.txt`, "hello file\n");
    assert.equal((await cli("alice", "send-file", "bob", `${t.dir}/note.txt`)).code, 0);
    const fid = (await cli("alice", "files")).out.split(/\s+/)[1]!;
    let r = await cli("alice", "files", "withdraw", fid.slice(0, 5));
    assert.equal(r.out, `withdrawn  ${fid}  to bob  11  note.txt`, r.err);
    r = await cli("bob", "files");
    assert.equal(r.out, `in  ${fid}  from alice  11  withdrawn  note.txt`, r.err);
    r = await cli("alice", "files");
    assert.equal(r.out, `out ${fid}  to bob  11  withdrawn  note.txt`, r.err);
    r = await cli("alice", "files", "withdraw", fid);
    assert.equal(r.code, 1);
    assert.match(r.err, /note\.txt to bob has ended already \(withdrawn\)/);
    r = await cli("alice", "files", "withdraw");
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /Use: parley files withdraw FID/);
  } finally {
    await t.stop();
  }
});

Deno.test("files: an offer taken on another of one's devices says so, not 'no such file'", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b1 = await t.e2eClient("bob");
    const b2 = await linkDevice(t, b1, "bob-laptop");
    for (const x of [a, b1, b2]) await x.client.sync();
    const sent = await FileTransfers.of(a.client).send("bob", await writeFile(t, "notes.txt", 2000), "relay");
    for (const x of [b1, b2]) {
      await eventually(
        async () => (await inState(x.client, sent.fid)) === "offered",
        5000,
        "both devices offered",
      );
    }
    const offer = { fid: sent.fid, from: "alice" };
    await FileTransfers.of(b1.client).accept(offer, `${t.dir}/down1`, { direct: false });
    const f2 = FileTransfers.of(b2.client);
    await assert.rejects(
      f2.accept(offer, `${t.dir}/down2`, { direct: false }),
      /notes\.txt from alice: You received this file already, on another of your devices/,
    );
    assert.equal(await inState(b2.client, sent.fid), "elsewhere");
    // Looked at (/files) before it is tried: said so at once, and not numbered for /accept.
    const again = await FileTransfers.of(a.client).send("bob", await writeFile(t, "more.txt", 100), "relay");
    await eventually(async () => (await inState(b2.client, again.fid)) === "offered", 5000, "offered");
    await FileTransfers.of(b1.client).accept({ fid: again.fid, from: "alice" }, `${t.dir}/down1`, {
      direct: false,
    });
    const desk2 = new FileDesk(() => b2.client, { outbox: `${t.dir}/o2`, downloads: `${t.dir}/down2` });
    const listed = (await desk2.list()).find((e) => e.fid === again.fid);
    assert.deepEqual([listed?.n, listed?.state], [undefined, "elsewhere"]);
    assert.equal(await desk2.waiting(), 0);
  } finally {
    await t.stop();
  }
});
