/**
 * Ending an upload for good (a day of real use): what the full-screen client resumes at start is the
 * transfer that was offered, never another version of its file, and a refusal that cannot pass is not
 * tried again at every start. A file changed or gone since an interrupted upload, a recipient who does
 * not exist, and the same path sent again in a new version: each ends the upload once (failed,
 * withdrawn from the server, so a recipient who accepts is told) and nothing is sent in its place.
 */
import assert from "node:assert/strict";
import { FileTransfers, type TransferProgress } from "../lib/client/files/transfers.ts";
import { FileDesk } from "../lib/client/files/desk.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import { eventually, startTestServer, type TestServer } from "./helpers.ts";

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

async function writeFile(t: TestServer, name: string, data: Uint8Array): Promise<string> {
  await Deno.mkdir(`${t.dir}/src`, { recursive: true });
  const p = `${t.dir}/src/${name}`;
  await Deno.writeFile(p, data);
  return p;
}

/** `send` run by alice's transfers, her connection dying after a few bodies (once her session ended). */
async function cutShort(t: TestServer, a: ChatClient, send: (ft: FileTransfers) => Promise<unknown>) {
  let bodies = 0;
  const fa = new FileTransfers(a, FileTransfers.of(a).ops, (pr: TransferProgress) => {
    if (pr.state === "active" && ++bodies === 3) void a.conn.close();
  });
  await assert.rejects(send(fa));
  await eventually(() => ![...t.srv.hub.sessionsOf("alice")].length, 5000, "alice's session ended");
}

/** Alice starts sending `path` to bob and her connection dies after a few bodies; the upload's fid. */
async function interrupted(t: TestServer, path: string): Promise<string> {
  const a = await t.e2eClient("alice");
  const b = await t.e2eClient("bob");
  await a.client.sync();
  await b.client.sync();
  await cutShort(t, a.client, (ft) => ft.send("bob", path));
  const [rec] = await FileTransfers.of(b.client).incoming();
  assert.ok(rec && t.srv.files.get(rec.fid), "bob was offered the file, the server has part of it");
  return rec.fid;
}

/** What the full-screen client does at start: resume every unfinished transfer; the notices it gave. */
async function resumeAll(c: ChatClient, dir: string): Promise<string[]> {
  const notices: string[] = [];
  const off = c.on((e) => e.type === "notice" && notices.push(e.text));
  await new FileDesk(() => c, { outbox: `${dir}/outbox`, downloads: `${dir}/down` }).resume();
  off();
  return notices;
}

const states = async (c: ChatClient) =>
  (await FileTransfers.of(c).outgoing()).map((r) => `${r.to} ${r.size} ${r.state}`);

Deno.test("files: a file changed since an interrupted upload is not sent at the next start; that upload ends, once", async () => {
  const t = await startTestServer();
  try {
    const data = bytes(3 * 1024 * 1024);
    const p = await writeFile(t, "plan.txt", data);
    const fid = await interrupted(t, p);
    await Deno.writeFile(p, new TextEncoder().encode("added later, never offered"), { append: true });
    const a = await t.e2eClient("alice", { register: false });
    const notices = await resumeAll(a.client, `${t.dir}/alice`);
    assert.equal(notices.length, 1, notices.join("\n"));
    assert.match(notices[0]!, /plan\.txt changed since it was offered to bob; that transfer ends/);
    assert.deepEqual(await states(a.client), [`bob ${data.length} failed`], "no upload of the new version");
    assert.equal(t.srv.files.get(fid), undefined, "the partial copy is withdrawn from the server");
    // Bob accepting is told it was withdrawn.
    const b = await t.e2eClient("bob", { register: false });
    const ftb = FileTransfers.of(b.client);
    const offer = (await ftb.incoming()).find((r) => r.fid === fid)!;
    await assert.rejects(ftb.accept(offer, `${t.dir}/bob-down`), /withdrew|no such file/i);
    // The next start has nothing to resume and says nothing.
    assert.deepEqual(await resumeAll(a.client, `${t.dir}/alice`), []);
  } finally {
    await t.stop();
  }
});

Deno.test("files: an upload whose file is gone ends at the next start with one clear notice", async () => {
  const t = await startTestServer();
  try {
    const p = await writeFile(t, "gone.bin", bytes(3 * 1024 * 1024, 7));
    const fid = await interrupted(t, p);
    await Deno.remove(p);
    const a = await t.e2eClient("alice", { register: false });
    const notices = await resumeAll(a.client, `${t.dir}/alice`);
    assert.deepEqual(notices, [`File transfer: ${p} is gone; sending it to bob ends`]);
    assert.deepEqual(await states(a.client), [`bob ${3 * 1024 * 1024} failed`]);
    assert.equal(t.srv.files.get(fid), undefined);
    assert.deepEqual(await resumeAll(a.client, `${t.dir}/alice`), []);
  } finally {
    await t.stop();
  }
});

Deno.test("files: a file unchanged since an interrupted upload is resumed as the same transfer", async () => {
  const t = await startTestServer();
  try {
    const data = bytes(3 * 1024 * 1024, 3);
    const p = await writeFile(t, "same.bin", data);
    const fid = await interrupted(t, p);
    const a = await t.e2eClient("alice", { register: false });
    // Said when it ends well too: nobody typed a command for it.
    assert.deepEqual(await resumeAll(a.client, `${t.dir}/alice`), ["same.bin (3.0 MiB) went to bob"]);
    assert.deepEqual(await states(a.client), [`bob ${data.length} sent`]);
    assert.equal(t.srv.files.get(fid)?.have, t.srv.files.get(fid)?.size, "all of it on the server");
  } finally {
    await t.stop();
  }
});

Deno.test("files: a send to a user who does not exist leaves no upload to resume", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const p = await writeFile(t, "note.txt", bytes(1000));
    await assert.rejects(FileTransfers.of(a.client).send("nobody", p), /There is no user named nobody/);
    // Nobody was offered it: no record is left (a typo in `parley files` for good, a day of real use).
    assert.deepEqual(await states(a.client), []);
    assert.deepEqual(await resumeAll(a.client, `${t.dir}/alice`), [], "not tried again at every start");
  } finally {
    await t.stop();
  }
});

Deno.test("files: sending the same path again in a new version ends the older unfinished upload", async () => {
  const t = await startTestServer();
  try {
    const p = await writeFile(t, "draft.bin", bytes(3 * 1024 * 1024, 5));
    const fid = await interrupted(t, p);
    const v2 = bytes(2 * 1024 * 1024, 6);
    await Deno.writeFile(p, v2);
    const a = await t.e2eClient("alice", { register: false });
    const sent = await FileTransfers.of(a.client).send("bob", p);
    assert.notEqual(sent.fid, fid);
    assert.equal(sent.size, v2.length);
    assert.deepEqual(await states(a.client), [`bob ${3 * 1024 * 1024} failed`, `bob ${v2.length} sent`]);
    assert.equal(t.srv.files.get(fid), undefined, "the old version is withdrawn");
  } finally {
    await t.stop();
  }
});

Deno.test("files: a room's unfinished upload ends at the next start once its sender left the room", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    for (const x of [a, b]) await x.client.sync();
    await a.client.commands.createRoom("team", ["bob"]);
    await a.client.send({ kind: "room", name: "team" }, "hello"); // the room key is handed out here
    const p = await writeFile(t, "deck.pdf", bytes(3 * 1024 * 1024, 11));
    await cutShort(t, a.client, (ft) => ft.sendRoom("#team", p));
    const [rec] = await FileTransfers.of(a.client).outgoing();
    assert.equal(rec?.state, "uploading");
    const a2 = await t.e2eClient("alice", { register: false });
    await a2.client.commands.leave("team");
    assert.deepEqual(await resumeAll(a2.client, `${t.dir}/alice`), [
      "File transfer: You are not in a room named #team",
    ]);
    assert.deepEqual(await states(a2.client), [`#team ${3 * 1024 * 1024} failed`]);
    assert.deepEqual(await resumeAll(a2.client, `${t.dir}/alice`), [], "not tried again");
  } finally {
    await t.stop();
  }
});

Deno.test("files: the desk knows a send it runs, however its path and name were typed (no second uploader)", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    for (const x of [a, b]) await x.client.sync();
    await writeFile(t, "big.bin", bytes(3 * 1024 * 1024, 13));
    const files = t.srv.files;
    const append = files.append.bind(files);
    files.append = async (f, body) => (await new Promise((r) => setTimeout(r, 30)), await append(f, body));
    const desk = new FileDesk(() => a.client, { outbox: `${t.dir}/outbox`, downloads: `${t.dir}/down` });
    const sending = desk.send("Bob", `${t.dir}/src/./big.bin`); // as typed: not the record's name or path
    sending.catch(() => {}); // awaited below
    await eventually(
      async () => (await FileTransfers.of(a.client).outgoing()).length === 1,
      5000,
      "recorded",
    );
    const out = (await desk.list()).filter((e) => e.direction === "out");
    assert.deepEqual(out.map((e) => e.state), ["sending"], "not 'paused' while it runs");
    await desk.resume(); // a reconnect's resume starts no second uploader of it
    files.append = append;
    assert.equal((await sending).size, 3 * 1024 * 1024);
    assert.deepEqual(await states(a.client), [`bob ${3 * 1024 * 1024} sent`]);
  } finally {
    await t.stop();
  }
});
