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
