/**
 * The IRC face on a fake backend (issue 72): a bug while one IRC connection's command runs ends that
 * connection with ERROR and a log line; the face and the other connections go on. A connection that
 * does not register in time is closed, and one past the cap is told so and closed.
 */
import assert from "node:assert/strict";
import { FakeBackend } from "../lib/client/tui/fake_backend.ts";
import { localIrc, RawIrc } from "./irc_testing.ts";

Deno.test("irc: a bug in one command ends that connection only (ERROR, logged); the others go on", async () => {
  const b = new FakeBackend("alice");
  const logs: string[] = [];
  const irc = await localIrc(b, "pw", { log: (l) => logs.push(l) });
  const [one, two] = [await RawIrc.open(irc.port), await RawIrc.open(irc.port)];
  try {
    await one.register("pw");
    await two.register("pw");
    b.whois = () => {
      throw new TypeError("a bug in the backend");
    };
    await one.send("WHOIS bob");
    await one.waitFor(/^ERROR :Internal error/);
    await two.send("PING :alive");
    await two.waitFor(/PONG parley :?alive/);
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /a bug in the backend/);
    assert.equal(irc.attached(), 1);
    const three = await RawIrc.open(irc.port);
    await three.register("pw");
    three.close();
  } finally {
    one.close();
    two.close();
    irc.stop();
  }
});

Deno.test("irc: a connection that does not register in time is closed; one past the cap is told so", async () => {
  const b = new FakeBackend("alice");
  const irc = await localIrc(b, "pw", { limits: { registerMs: 300, maxConns: 2 } });
  const conns: RawIrc[] = [];
  try {
    const idle = await RawIrc.open(irc.port);
    const member = await RawIrc.open(irc.port);
    conns.push(idle, member);
    await member.register("pw");
    await idle.send("NICK lurker"); // never completes registration
    await idle.waitFor(/^ERROR :.*Registration timed out/);
    const end = await idle.waitFor(/never sent/, 5000).catch((e) => String(e));
    assert.match(end, /closed before/, "the server closed it");
    // The registered one stays past the deadline, and the freed slot takes a new connection.
    await member.send("PING :still");
    await member.waitFor(/PONG parley :?still/);
    const next = await RawIrc.open(irc.port);
    conns.push(next);
    await next.register("pw");
    const over = await RawIrc.open(irc.port);
    conns.push(over);
    await over.waitFor(/^ERROR :Too many connections/);
  } finally {
    for (const c of conns) c.close();
    irc.stop();
  }
});
