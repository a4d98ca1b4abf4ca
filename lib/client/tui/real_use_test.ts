// Issue 71 ("A day of real use, round 3"): what the user sees on screen.
import assert from "node:assert/strict";
import { demoWorld, harness } from "./testing.ts";

Deno.test("TuiApp /whois of a busy user whose away reason never came says where it would come from (issue 71.14)", async () => {
  const h = await harness({ cols: 140, setup: demoWorld });
  let s = (await h.type("/whois carol\r")).join("\n");
  assert.match(s, /carol — busy \(away; reason shown when you write to them\) — 10\.0\.0\.3:5000/);
  s = (await h.type("/whois bob\r")).join("\n");
  assert.match(s, /bob \(admin\) — free — 10\.0\.0\.2:5000/, "free: nothing to say");
  h.close();
});

Deno.test("TuiApp: @ before a nick means an admin of that room, in the nick list and /names alike; /help says so (issue 71.18)", async () => {
  const h = await harness({ cols: 200, setup: demoWorld });
  let s = await h.type("\x1b2"); // #general: alice is its admin; bob is a server admin only
  const nicks = s.map((l) => l.split("│").at(-1)!.trim().split(/\s+/)[0]);
  assert.ok(nicks.includes("@alice") && nicks.includes("bob"), nicks.join(" "));
  s = await h.type("/names\r");
  assert.match(
    s.join("\n"),
    /#general: 4 members: @alice \(online\), bob \(online\), carol \(online\), dave/,
  );
  s = await h.type("\x1b3"); // #random: bob is its admin
  assert.ok(s.some((l) => /│ @bob +\d+m$/.test(l)));
  s = await h.type("/help\r");
  assert.match(
    s.join("\n"),
    /@NICK \(nick list, \/names\): an admin of that room; a server admin is \(admin\) in \/who and \/whois/,
  );
  h.close();
});
