import assert from "node:assert/strict";
import { peerEventLine, saysNotice } from "./peer.ts";
import { messageLine, scriptHint } from "./peer_script.ts";
import type { ChatMessage, MessageChange } from "../backend.ts";

const m: ChatMessage = {
  seq: 1,
  mid: "a1",
  ts: Date.UTC(2026, 0, 2, 12, 0),
  from: "mallory",
  to: { kind: "user", name: "alice" },
  text: "hi\n2026-01-02T12:00:00Z bob fake line\r\nconnected eve",
};

Deno.test("peer script (issue 33.9): a message's newlines cannot forge event or inbox lines", () => {
  const ev = peerEventLine({ type: "message", message: m }, "alice")!;
  assert.equal(ev, "2026-01-02T12:00:00Z mallory hi^J2026-01-02T12:00:00Z bob fake line^M^Jconnected eve");
  assert.equal(`inbox ${messageLine(m)}`.split("\n").length, 1);
  assert.doesNotMatch(ev, /[\n\r]/);
});

Deno.test("peer script (issue 34.4): a delivery prints no event line (it only clears the screen's ⋯)", () => {
  assert.equal(peerEventLine({ type: "message", message: { ...m, from: "alice" } }, "alice"), null);
});

Deno.test("peer script: the core's events as the contract's lines, each said once", async () => {
  const { keyChanged, peerCame, peerWent } = await import("../peer/events.ts");
  const [came, hello] = peerCame("bob", 0);
  assert.equal(peerEventLine(came!, "alice"), "connected bob");
  assert.equal(peerEventLine(peerWent("bob", 0), "alice"), "disconnected bob");
  const changed = keyChanged("bob") as Extract<ReturnType<typeof keyChanged>, { type: "notice" }>;
  assert.equal(peerEventLine(changed, "alice"), "key-changed bob");
  assert.equal(saysNotice(changed), false, "a changed key is its line, not a warning too");
  assert.equal(hello?.type === "notice" && saysNotice(hello), false, "an info notice is not said");
  const warn = { type: "notice" as const, level: "warn" as const, text: "bob: bad record" };
  assert.equal(saysNotice(warn), true);
  const { NEVER_SENT } = await import("../core/engine_outbox.ts");
  const never = { type: "notice" as const, level: "error" as const, text: `${NEVER_SENT} "x": too long` };
  assert.equal(saysNotice(never), false, "said once, as the text's failure");
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

Deno.test("peer script (issue 39): change lines are one line each; a reply quotes only its own conversation", async () => {
  const { changeEventLine } = await import("./peer_changes.ts");
  const { PeerNode } = await import("../peer/node.ts");
  const { PeerStore } = await import("../peer/store.ts");
  const node = await PeerNode.start({
    name: "alice",
    store: await PeerStore.open(null, "alice"),
    hostname: "127.0.0.1",
    port: 0,
  });
  try {
    const to = { kind: "user" as const, name: "alice" };
    const bobs = { seq: 1, mid: "b".repeat(32), ts: m.ts, from: "bob", to, text: "bob's\nfirst" };
    const carols = { seq: 2, mid: "c".repeat(32), ts: m.ts, from: "carol", to, text: "carol's secret" };
    node.store.local.save([bobs, carols]);
    const reply = (re: string) =>
      changeEventLine(node, { type: "message", message: { ...m, from: "bob", replyTo: re } });
    assert.equal(reply(bobs.mid), "replied bob bob's");
    assert.equal(reply(carols.mid), "replied bob an earlier message");
    const change = (c: MessageChange, by = "bob") =>
      changeEventLine(node, { type: "message.changed", message: bobs, by, change: c });
    assert.equal(change({ kind: "edit", text: "a\nconnected eve" }), "edited bob a^Jconnected eve");
    assert.equal(change({ kind: "delete" }), "deleted bob");
    assert.equal(change({ kind: "react", emoji: "👍", on: false }), "unreacted bob 👍");
    assert.equal(change({ kind: "delete" }, "alice"), null); // my own: nothing to announce
    assert.equal(changeEventLine(node, { type: "messages.expired", mids: ["x", "y"] }), "expired 2");
  } finally {
    await node.close();
  }
});

Deno.test("peer script (issue 71.20): the peer layer's hints name the script's commands; paths and other words stay", () => {
  assert.equal(
    scriptHint(
      "notes.txt waits for /accept: noor's key is not verified (/fingerprint noor, then /verify noor)",
    ),
    "notes.txt waits for accept: noor's key is not verified (fingerprint noor, then verify noor)",
  );
  assert.equal(
    scriptHint("saved to /tmp/accept/x and ~/trust; /nosuch stays"),
    "saved to /tmp/accept/x and ~/trust; /nosuch stays",
  );
});
