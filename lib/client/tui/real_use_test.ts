// Issue 71 ("A day of real use, round 3"): what the user sees on screen.
import assert from "node:assert/strict";
import { demoWorld, harness } from "./testing.ts";

Deno.test("TuiApp /whois of a busy user whose away reason never came says where it would come from (issue 71.14)", async () => {
  let reason: string | null = null; // a client that keeps away reasons (and so hears them): not peer mode
  const away = {
    get reason() {
      return reason;
    },
    set: (r: string | null) => void (reason = r),
  };
  const h = await harness({ cols: 140, setup: (b) => (demoWorld(b), b.away = away) });
  let s = (await h.type("/whois carol\r")).join("\n");
  assert.match(s, /carol — busy \(away; reason shown when you write to them\) — 10\.0\.0\.3:5000/);
  s = (await h.type("/whois bob\r")).join("\n");
  assert.match(s, /bob \(admin\) — free — 10\.0\.0\.2:5000/, "free: nothing to say");
  h.close();
  // A backend that keeps no away reason (peer mode): nobody sends one, so nothing is promised.
  const p = await harness({ cols: 140, setup: demoWorld });
  assert.match((await p.type("/whois carol\r")).join("\n"), /carol — busy — 10\.0\.0\.3:5000/);
  p.close();
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

Deno.test("TuiApp /help rows wrap under their help column; a command longer than its column puts its help on the next row (issue 71.21)", async () => {
  const h = await harness({ cols: 100, rows: 200, setup: demoWorld });
  const s = await h.type("/help\r");
  const at = (re: RegExp) => s.findIndex((l) => re.test(l));
  const fp = at(/\/fingerprint \[USER\] +Show/), col = s[fp]!.indexOf("Show");
  assert.equal(s[fp + 1]!.slice(col).split(" ")[0], "share", s.slice(fp, fp + 3).join("\n"));
  assert.equal(s[fp + 1]!.slice(0, col).replace(/^.*│/, "").trim(), "", "nothing under the command column");
  const sf = at(/\/send-file USER\|#ROOM ID\|PATH… *│/);
  assert.ok(sf > 0, "the command alone on its row");
  assert.equal(s[sf + 1]!.indexOf("Send a file"), col, s.slice(sf, sf + 3).join("\n"));
  h.close();
});
