/**
 * `parley irc`'s control user `*parley` (issue 72) on a real account: `devices` lists the account's
 * devices with their key fingerprints and which one this is (ChatBackend.devices). Over a raw socket.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { RawIrc } from "./irc_testing.ts";
import { linkDevice } from "./link_device.ts";
import { startIrc } from "../lib/client/irc/mod.ts";
import { systemClock } from "../lib/common/clock.ts";
import { deviceKeyOf } from "../lib/client/e2e/mod.ts";
import { sha256Hex } from "../lib/common/bytes.ts";

const PW = "irc-control-secret-0123";
const grouped = (hex: string) => hex.match(/.{4}/g)!.join(" ");

Deno.test("irc *parley devices: the account's devices, each key's fingerprint, this one marked", async () => {
  const t = await startTestServer();
  const a = await t.e2eClient("alice");
  const laptop = await linkDevice(t, a, "laptop");
  const irc = await startIrc(a.client, {
    host: "127.0.0.1",
    port: 0,
    password: PW,
    clock: systemClock,
    log: () => {},
  });
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
    await c.waitFor(/NOTICE alice :  devices — your account's devices/, 10_000, from);
  } finally {
    c.close();
    irc.stop();
    await t.stop();
  }
});
