/**
 * Issue 10 item 7: server-supplied strings in scripted output (`parley read`, `read --json`,
 * `admin kicked`) never reach the caller's terminal as control sequences, and the server refuses
 * stream names and kick reasons holding them. Runs `runCli` in-process against a real server.
 */
import { streamKeysOf } from "../lib/client/video/stream_key.ts";
import assert from "node:assert/strict";
import { runCli } from "../lib/client/cli/main.ts";
import { fingerprintPem } from "../lib/net/cert.ts";
import { runConsoleLine } from "../lib/server/console.ts";
import { VERSION } from "../lib/common/version.ts";
import { eventually, startTestServer, type TestServer } from "./helpers.ts";
import type { VideoCliIo } from "../lib/client/cli/video.ts";
import type { TerminalIo } from "../lib/client/term/terminal.ts";

// ESC sequences (clear screen, title, OSC 52 clipboard write), C1 CSI, bidi override and isolate,
// line separator, Arabic letter mark.
const HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x9b31m\u202eevil\u2066\u2028\u061c";
const RAW =
  // deno-lint-ignore no-control-regex
  /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufff9-\ufffb]/;

async function cli(t: TestServer, user: string, argv: string[], err: string[] = []) {
  const out: string[] = [];
  const env: Record<string, string> = {
    PARLEY_SERVER: `127.0.0.1:${t.port}`,
    PARLEY_USER: user,
    PARLEY_PASSWORD: `pw-${user}-secret`,
    PARLEY_HOME: `${t.dir}/cli-${user}`,
  };
  const drawn: Uint8Array[] = [];
  const terminal: TerminalIo = {
    stdinIsTerminal: () => false,
    stdoutIsTerminal: () => false,
    size: () => ({ columns: 80, rows: 24 }),
    setRaw: () => {},
    write: (b) => void drawn.push(b),
    read: () => Promise.resolve(null),
  };
  const io: VideoCliIo = {
    env: { get: (n) => env[n] },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    prompts: {},
    version: VERSION,
    terminal,
  };
  const code = await runCli([...argv, "--fingerprint", await fingerprintPem(t.cert)], io);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("scripted read, read --json and admin kicked print hostile server strings escaped", async () => {
  const t = await startTestServer();
  try {
    assert.equal((await cli(t, "alice", ["register"])).code, 0);
    assert.equal((await cli(t, "bob", ["register"])).code, 0);
    assert.equal(await runConsoleLine(t.srv, "/grant alice"), "alice is now an admin");
    // A kick reason stored by an older or hostile server (today's server refuses it, see below).
    await t.srv.core.store.addKick({ user: "bob", by: "alice", at: 1, bannedUntil: null, reason: HOSTILE });
    assert.equal((await cli(t, "alice", ["send", "bob", HOSTILE])).code, 0);

    // `read --since` takes the TUI's grammar (durations too): lib/common/parse_time.ts.
    const dur = await cli(t, "bob", ["read", "--since", "1d", "--json"]);
    assert.equal(dur.code, 0, dur.err);
    assert.equal(JSON.parse(dur.out).length, 1);
    // --from goes through the one name rule (NFKC + case): full-width ＡＬＩＣＥ is alice.
    const from = await cli(t, "bob", [
      "read",
      "--from",
      "\uff21\uff2c\uff29\uff23\uff25",
      "--since",
      "1d",
      "--json",
    ]);
    assert.equal(from.code, 0, from.err);
    assert.equal(JSON.parse(from.out).length, 1, from.out);
    const plain = await cli(t, "bob", ["read", "--since", "2000-01-01T00:00:00Z"]);
    assert.equal(plain.code, 0, plain.err);
    assert.match(plain.out, /alice -> bob: \^\[\[2J/);
    assert.ok(!RAW.test(plain.out), JSON.stringify(plain.out));

    const json = await cli(t, "bob", ["read", "--since", "2000-01-01T00:00:00Z", "--json"]);
    assert.equal(json.code, 0, json.err);
    assert.ok(!RAW.test(json.out), JSON.stringify(json.out));
    assert.equal(JSON.parse(json.out)[0].text, HOSTILE, "the data parses back exact");

    const kicked = await cli(t, "alice", ["admin", "kicked"]);
    assert.equal(kicked.code, 0, kicked.err);
    assert.match(kicked.out, /— \^\[\[2J\^\[\]0;pwned\^G\^\[\]52;c;/);
    assert.ok(!RAW.test(kicked.out), JSON.stringify(kicked.out));
    const kickedJson = await cli(t, "alice", ["admin", "kicked", "--json"]);
    assert.ok(!RAW.test(kickedJson.out), JSON.stringify(kickedJson.out));
  } finally {
    await t.stop();
  }
});

Deno.test("parley watch prints a hostile stream offer's name escaped (offer from a hostile server)", async () => {
  const t = await startTestServer();
  try {
    assert.equal((await cli(t, "bob", ["register"])).code, 0);
    const alice = await t.e2eClient("alice");
    const err: string[] = [];
    const watching = cli(t, "bob", [
      "watch",
      "--accept-from",
      "alice",
      "--wait",
      "20",
      "--renderer",
      "halfblock",
    ], err);
    await eventually(() => err.some((l) => l.startsWith("Waiting for a stream")), 10_000, "watch waiting");
    // Today's server refuses this name (see below); a hostile one relays it: go around the schema.
    const sid = "sid-hostile-name";
    const name = "\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07clip\x9b2J\u202egnp.mp4";
    const session = [...t.srv.hub.sessionsOf("alice")][0]!;
    t.srv.relay.offer(session, { t: "stream.offer", id: 0, to: "bob", name, sid });
    await streamKeysOf(alice.codec)!.send("bob", sid, crypto.getRandomValues(new Uint8Array(32)));
    await eventually(() => err.some((l) => l.startsWith("Accepted")), 15_000, "accepted");
    await alice.client.conn.request("stream.stop", { sid });
    const r = await watching;
    assert.equal(r.code, 0, r.err);
    const accepted = err.find((l) => l.startsWith("Accepted"))!;
    assert.equal(
      accepted,
      "Accepted ^[]0;pwned^G^[]52;c;cm0gLXJmIH4=^Gclip<U+009B>2J<U+202E>gnp.mp4 from alice",
    );
    assert.ok(!RAW.test(err.join("\n")), JSON.stringify(err));
  } finally {
    await t.stop();
  }
});

Deno.test("the server refuses stream names and kick reasons with control or bidi characters", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    await t.client("bob");
    assert.equal(await runConsoleLine(t.srv, "/grant alice"), "alice is now an admin");
    for (const name of ["clip\x1b]52;c;cm0=\x07.mp4", "a\u202egnp.exe", "x\x9b2J", "y".repeat(201)]) {
      await assert.rejects(
        alice.conn.request("stream.offer", { to: "bob", name, sid: "sid-12345678" }),
        (e: Error & { code?: string }) =>
          e.code === "invalid" && /video name (may not contain control|is longer than 200)/.test(e.message),
      );
    }
    await assert.rejects(
      alice.conn.request("admin.kick", { user: "bob", reason: "bye\x1b[2J" }),
      (e: Error & { code?: string }) =>
        e.code === "invalid" && /kick reason may not contain control/.test(e.message),
    );
    // The console goes through Core.kick, which holds the same rule.
    assert.match(
      await runConsoleLine(t.srv, "/kick bob 0 bye\u202e"),
      /kick reason is at most 200 characters/,
    );
  } finally {
    await t.stop();
  }
});
