/**
 * `parley irc`'s control user `*parley` (issue 72) on a real account: `devices` lists the account's
 * devices with their key fingerprints and which one this is (ChatBackend.devices); a file offer from a
 * real sender (the scripted `parley send-file`) is a NOTICE, `files` lists it, `accept N` saves it in
 * the downloads folder, `reject N` refuses it. Over a raw socket.
 */
import assert from "node:assert/strict";
import { eventually, scriptedCli, startTestServer } from "./helpers.ts";
import { attachFileDesk } from "../lib/client/start/launch.ts";
import { localIrc, RawIrc } from "./irc_testing.ts";
import { linkDevice } from "./link_device.ts";
import { deviceKeyOf } from "../lib/client/e2e/mod.ts";
import { sha256Hex } from "../lib/common/bytes.ts";

const PW = "irc-control-secret-0123";
const grouped = (hex: string) => hex.match(/.{4}/g)!.join(" ");

Deno.test("irc *parley devices: the account's devices, each key's fingerprint, this one marked", async () => {
  const t = await startTestServer();
  const a = await t.e2eClient("alice");
  const laptop = await linkDevice(t, a, "laptop");
  const irc = await localIrc(a.client, PW);
  const c = await RawIrc.open(irc.port);
  try {
    await c.register(PW);
    const from = c.lines.length;
    await c.send("PRIVMSG *parley :devices");
    const one = await c.waitFor(/^:\*parley!\S+ NOTICE alice :1 /, 10_000, from);
    const two = await c.waitFor(/^:\*parley!\S+ NOTICE alice :2 laptop /, 10_000, from);
    const mine = grouped(await sha256Hex((await deviceKeyOf(a.codec.cs)).pub));
    const theirs = grouped(await sha256Hex((await deviceKeyOf(laptop.codec.cs)).pub));
    assert.notEqual(mine, theirs);
    assert.match(one, new RegExp(`added \\d{4}-\\d\\d-\\d\\d.* key ${mine} \\(this device\\)$`));
    assert.match(two, new RegExp(` key ${theirs}$`));

    await c.send("PRIVMSG *parley :help");
    await c.waitFor(/NOTICE alice : {2}devices — your account's devices/, 10_000, from);
  } finally {
    c.close();
    irc.stop();
    await t.stop();
  }
});

Deno.test("irc *parley files: an offer from parley send-file is a NOTICE, files lists it, accept saves it, reject refuses", async () => {
  const t = await startTestServer();
  const a = await t.e2eClient("alice");
  const down = `${t.dir}/downloads`;
  attachFileDesk(a.client, `${t.dir}/outbox`, down);
  const irc = await localIrc(a.client, PW);
  const c = await RawIrc.open(irc.port);
  try {
    await c.register(PW);
    assert.equal((await scriptedCli(t, "bob", ["register"])).code, 0);
    await Deno.writeTextFile(`${t.dir}/note.txt`, "hello file\n");
    const sent = await scriptedCli(t, "bob", ["send-file", "alice", `${t.dir}/note.txt`]);
    assert.equal(sent.out, `sent note.txt 11 ${await sha256Hex("hello file\n")}`, sent.err);
    await c.waitFor(/^:\*parley!\S+ NOTICE alice :bob offers the file note\.txt \(11 bytes\)/);

    let from = c.lines.length;
    await c.send("PRIVMSG *parley :files");
    const row = await c.waitFor(/NOTICE alice :\d+ in bob \S+ 11 note\.txt$/, 10_000, from);
    const n = /:(\d+) in bob/.exec(row)![1]!;
    await c.send(`PRIVMSG *parley :accept ${n}`);
    const saved = await c.waitFor(/NOTICE alice :Saved note\.txt \(11 bytes\) from bob to /, 10_000, from);
    const path = / to (.+)$/.exec(saved)![1]!;
    assert.ok(path.startsWith(down), path);
    assert.equal(await Deno.readTextFile(path), "hello file\n");

    await Deno.writeTextFile(`${t.dir}/other.txt`, "not wanted\n");
    assert.equal((await scriptedCli(t, "bob", ["send-file", "alice", `${t.dir}/other.txt`])).code, 0);
    await c.waitFor(/NOTICE alice :bob offers the file other\.txt \(11 bytes\)/);
    from = c.lines.length;
    await c.send("PRIVMSG *parley :files");
    const row2 = await c.waitFor(/NOTICE alice :\d+ in bob \S+ 11 other\.txt$/, 10_000, from);
    await c.send(`PRIVMSG *parley :reject ${/:(\d+) in bob/.exec(row2)![1]}`);
    await c.waitFor(/NOTICE alice :Refused other\.txt$/, 10_000, from);
    await eventually(
      () => t.lines.some((l) => l.includes("file.abort") && l.includes("alice")),
      10_000,
      "the relayed file refused on the server",
    );
    assert.ok(!(await exists(`${down}/other.txt`)), "nothing saved");
  } finally {
    c.close();
    irc.stop();
    await t.stop();
  }
});

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}
