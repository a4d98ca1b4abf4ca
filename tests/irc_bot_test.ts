/**
 * A bot written against a plain IRC library (node-irc, npm `irc`: no IRCv3, no CAP) drives `parley irc`
 * (issue 72): it connects with the folder's IRC password, joins a room and answers a line said in it;
 * a full Parley client sees the answer, end to end encrypted.
 */
import assert from "node:assert/strict";
import irc from "irc"; // npm:irc 0.5.2 (deno.json), node-irc: a test-only dependency
import { eventually, inbox, startTestServer } from "./helpers.ts";
import { localIrc } from "./irc_testing.ts";

const PW = "irc-bot-secret-0123456789";

Deno.test("irc: a bot on a plain IRC library joins a room and answers in it; a Parley client sees the answer", async () => {
  const t = await startTestServer();
  const alice = await t.e2eClient("alice");
  const botty = await t.e2eClient("botty");
  await botty.client.sync();
  await alice.client.sync();
  await alice.client.rooms.create("ops", ["botty"]);
  const face = await localIrc(botty.client, PW);
  const heard: string[] = [];
  const bot = new irc.Client("127.0.0.1", "helperbot", {
    port: face.port,
    password: PW,
    channels: ["#ops"],
    retryCount: 0,
    autoRejoin: false,
    stripColors: true,
  });
  bot.addListener("error", () => {}); // numerics it does not know; the test looks at what arrives
  bot.addListener("message#ops", (from: string, text: string) => {
    heard.push(`${from}: ${text}`);
    if (text.startsWith("!ping")) bot.say("#ops", `pong ${from}${text.slice(5)}`);
  });
  try {
    const joined = new Promise<void>((r) => bot.addListener("join#ops", () => r()));
    await joined;
    const ai = inbox(alice.client);
    await alice.client.send({ kind: "room", name: "ops" }, "!ping now");
    const answer = await eventually(
      () => ai.msgs.find((m) => m.from === "botty" && m.to.kind === "room" && m.to.name === "ops"),
      15_000,
      "the bot's answer",
    );
    assert.equal(answer!.text, "pong alice now");
    assert.deepEqual(heard, ["alice: !ping now"]);
  } finally {
    await new Promise<void>((r) => bot.disconnect("bye", () => r()));
    face.stop();
    await t.stop();
  }
});
