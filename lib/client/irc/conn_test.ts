/**
 * IrcConn (conn.ts) with a fake face: a labeled command's answer holds only what the command sends,
 * never a line of the face's own sent meanwhile (an event `push`ed), and a line this client does not
 * take is no part of it; the welcome and its joins are out before the next line is handled.
 */
import assert from "node:assert/strict";
import { type ConnHost, IrcConn } from "./conn.ts";
import type { IrcMessage } from "./codec.ts";

/** A connection over a fake face whose `run` waits for `release` before answering PING; `lines` what went out. */
function fixture() {
  const lines: string[] = [];
  let release = () => {};
  const gate = () => new Promise<void>((r) => (release = r));
  let attached = false;
  const me: { conn?: IrcConn } = {};
  const host: ConnHost = {
    nick: "alice",
    account: "alice",
    checkPassword: (pw) => pw === "pw",
    attach: async () => {
      await gate(); // the face's joins take a while (the backend answers)
      me.conn!.push({ tags: {}, command: "JOIN", params: ["&broadcast"] });
      attached = true;
    },
    detach: () => {},
    run: async (c, m) => {
      if (m.command !== "PING") return;
      await gate(); // the command waits on the backend; events come meanwhile
      c.send({ tags: {}, command: "PONG", params: ["parley", m.params[0]!] });
    },
  };
  const conn = me.conn = new IrcConn(host, { write: (l) => void lines.push(l.trimEnd()), close: () => {} });
  return { conn, lines, release: () => release(), attached: () => attached };
}

/** A line of the face's own for clients with away-notify only. */
const awayOnly: IrcMessage = { tags: {}, command: "AWAY", params: ["gone"], cap: "away-notify" };

async function registered(f: ReturnType<typeof fixture>): Promise<void> {
  for (
    const l of ["CAP LS 302", "PASS pw", "NICK alice", "USER u 0 * :A", "CAP REQ :labeled-response batch"]
  ) {
    await f.conn.line(l);
  }
  const end = f.conn.line("CAP END");
  f.release(); // the face's joins answer
  await end;
}

Deno.test("irc conn: the next line is handled once the welcome's joins are out", async () => {
  const f = fixture();
  for (const l of ["CAP LS 302", "PASS pw", "NICK alice", "USER u 0 * :A", "CAP END"]) {
    const p = f.conn.line(l);
    if (l === "CAP END") {
      let done = false;
      void p.then(() => (done = true));
      await Promise.resolve();
      assert.equal(done, false, "CAP END is handled once the joins are out");
      f.release();
    }
    await p;
  }
  assert.equal(f.attached(), true);
  assert.ok(f.lines.some((l) => l.endsWith("JOIN &broadcast")));
});

Deno.test("irc conn: a labeled command's answer holds only its own lines", async () => {
  const f = fixture();
  await registered(f);
  const ping = f.conn.line("@label=a1 PING x");
  await Promise.resolve();
  f.conn.push({ tags: {}, source: "bob!bob@parley", command: "PRIVMSG", params: ["alice", "hi"] });
  f.conn.push(awayOnly); // not taken by this client
  f.release();
  await ping;
  const tail = f.lines.slice(-2);
  assert.deepEqual(tail, [":bob!bob@parley PRIVMSG alice :hi", "@label=a1 PONG parley x"]);
  assert.ok(!f.lines.some((l) => l.includes("BATCH")), f.lines.join("\n"));
});

Deno.test("irc conn: a labeled command that sends only lines this client does not take answers ACK", async () => {
  const f = fixture();
  await registered(f);
  const host = f.conn.host as { run: ConnHost["run"] };
  host.run = (c) => Promise.resolve(c.send(awayOnly));
  await f.conn.line("@label=a2 PONG x");
  assert.equal(f.lines.at(-1), "@label=a2 :parley ACK");
});
