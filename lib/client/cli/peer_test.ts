import assert from "node:assert/strict";
import { peerEventLine } from "./peer.ts";
import { messageLine } from "./peer_script.ts";
import type { ChatMessage } from "../backend.ts";

const m: ChatMessage = {
  seq: 1,
  mid: "a1",
  ts: Date.UTC(2026, 0, 2, 12, 0),
  from: "mallory",
  to: { kind: "user", name: "alice" },
  text: "hi\n2026-01-02T12:00:00Z bob fake line\r\nconnected eve",
};

Deno.test("peer script (issue 33.9): a message's newlines cannot forge event or inbox lines", () => {
  const ev = peerEventLine({ type: "message", message: m })!;
  assert.equal(ev, "2026-01-02T12:00:00Z mallory hi^J2026-01-02T12:00:00Z bob fake line^M^Jconnected eve");
  assert.equal(`inbox ${messageLine(m)}`.split("\n").length, 1);
  assert.doesNotMatch(ev, /[\n\r]/);
});

Deno.test("peer script (issue 34.4): a delivery prints no event line (it only clears the screen's ⋯)", () => {
  assert.equal(peerEventLine({ type: "delivered", message: { ...m, from: "alice" } }), null);
});

Deno.test("peer script: one table serves the run, --help and README's list of script commands", async () => {
  const { PEER_SCRIPT, scriptHelp } = await import("./peer_script.ts");
  const readme = await Deno.readTextFile(new URL("../../../README.md", import.meta.url));
  const help = scriptHelp();
  for (const c of PEER_SCRIPT) {
    assert.ok(help.some((l) => l.includes(c.help) && l.trimStart().startsWith(c.name)), c.name);
    // README names each command with its usage (`inbox [PEER]`, `wait connected|… PEER [SECONDS]`).
    const names = [c.name, ...(c.aliases ?? [])].join("|");
    const want = `\`${names}${c.usage ? " " + c.usage : ""}\``;
    assert.ok(readme.includes(want), `README lists ${want}`);
  }
});
