import assert from "node:assert/strict";
import { checkSetting, configText, formatTimeWith, parseConfig, SETTINGS } from "./settings.ts";
import { harness } from "./testing.ts";
import type { ClientFiles } from "../session/home_dir.ts";

Deno.test("settings: a bad line is named by its number and skipped; the good ones are kept", () => {
  const p = parseConfig(
    "# comment\ntime_format = %H:%M:%S\ncolour = red\nbuffers_width = 99\nnonsense\n\nnotify=BELL\nlog.#proj = on\n",
  );
  assert.deepEqual([...p.values], [["time_format", "%H:%M:%S"], ["notify", "bell"], ["log.#proj", "on"]]);
  assert.equal(p.problems.length, 3);
  assert.match(p.problems[0]!, /^line 3: No setting "colour"/);
  assert.match(p.problems[1]!, /^line 4: buffers_width cannot be "99": allowed values are auto or 8-40/);
  assert.match(p.problems[2]!, /^line 5: .*not NAME = VALUE/);
  // Saved again: the bad lines stay for the person to fix, defaults are left out.
  const text = configText(new Map([...p.values, ["emoji", "on"]]), p.kept);
  assert.match(text, /^log\.#proj = on$/m);
  assert.doesNotMatch(text, /emoji/);
  assert.match(text, /^colour = red$/m);
  assert.deepEqual([...parseConfig(text).values], [["log.#proj", "on"], ["notify", "bell"], [
    "time_format",
    "%H:%M:%S",
  ]]);
});

Deno.test("settings: every value is checked against the allowed ones, which the refusal names", () => {
  assert.deepEqual(checkSetting("notify", "loud"), {
    error: 'notify cannot be "loud": allowed values are auto|none|bell|osc9|osc777',
  });
  assert.deepEqual(checkSetting("time_format", "%H:%Q"), {
    error: `time_format cannot be "%H:%Q": allowed values are ${SETTINGS[0]!.values}`,
  });
  assert.deepEqual(checkSetting("nick_colors", "red, 200"), { key: "nick_colors", value: "red,200" });
  assert.ok("error" in checkSetting("nick_colors", "red,pink"));
  assert.ok("error" in checkSetting("log", "on")); // a per-conversation setting needs its conversation
  assert.equal(
    formatTimeWith("%I:%M %p|%Y-%m-%d", new Date(2026, 0, 2, 15, 4).getTime()),
    "03:04 PM|2026-01-02",
  );
});

/** The settings file and logs in memory. */
function memoryFiles(text: string | null): ClientFiles & { saved: string[]; logs: Map<string, string> } {
  const saved: string[] = [], logs = new Map<string, string>();
  return {
    saved,
    logs,
    configPath: "/home/config",
    readConfig: () => Promise.resolve(text),
    saveConfig: (t) => Promise.resolve(void saved.push(t)),
    logPath: (c) => `/home/logs/${c}.log`,
    appendLog: (c, t) => Promise.resolve(void logs.set(c, (logs.get(c) ?? "") + t)),
  };
}

Deno.test("/set: lists, refuses with the allowed values, applies at once and saves; bad file lines said at start", async () => {
  const files = memoryFiles(null);
  const h = await harness({ files, config: { text: "buffers = maybe\nnicklist = off\n" }, cols: 160 });
  try {
    let s = h.lines().join("\n");
    assert.match(
      s,
      /\/home\/config line 1: buffers cannot be "maybe": allowed values are on\|off; that line is ignored/,
    );
    assert.doesNotMatch(s, /alice\s*$/m, "the nick list is off");
    s = (await h.type("/set notify loud\r")).join("\n");
    assert.match(s, /notify cannot be "loud": allowed values are auto\|none\|bell\|osc9\|osc777/);
    assert.equal(files.saved.length, 0);
    s = (await h.type("/set buffers off\r")).join("\n");
    assert.match(s, /buffers = off \(saved in \/home\/config\)/);
    assert.doesNotMatch(s, /1\.status/, "the buffer list went at once");
    assert.match(files.saved.at(-1)!, /^buffers = off$/m);
    assert.match(files.saved.at(-1)!, /^nicklist = off$/m);
    assert.match(files.saved.at(-1)!, /^buffers = maybe$/m, "the bad line is kept for its owner to fix");
    s = (await h.type("/set\r")).join("\n");
    assert.match(s, /buffers = off {2}\(default on\)/);
    assert.match(s, /time_format = %H:%M/);
    assert.match(s, /log \(in a conversation\) = -/);
  } finally {
    h.close();
  }
});

Deno.test("/set log on in a conversation appends each line shown there to its log, and warns it is not encrypted", async () => {
  const files = memoryFiles(null);
  const h = await harness({ files, config: { text: null }, cols: 120 });
  try {
    await h.type("/query bob\r");
    const s = (await h.type("/set log on\r")).join("\n");
    assert.match(s, /log in bob = on/);
    assert.match(s, /NOT encrypted/);
    h.backend.receive("bob", { kind: "user", name: "alice" }, "hello log");
    await h.settle();
    await h.app.settings.flushed();
    assert.match(files.logs.get("bob") ?? "", /\tbob\thello log\n$/);
    assert.equal(files.logs.has("#general"), false);
    // What arrived while away is shown (behind the read marker) and logged too; older history is not.
    const at = h.clock.now();
    const m = (seq: number, text: string) => ({
      seq,
      mid: `u${seq}`,
      ts: at,
      from: "bob",
      to: { kind: "user" as const, name: "alice" },
      text,
    });
    h.app.state.catchUp({
      recent: [m(90, "an old line")],
      unseen: [m(91, "while you were away")],
      pending: [],
    });
    await h.settle();
    await h.app.settings.flushed();
    assert.match(files.logs.get("bob")!, /\tbob\twhile you were away\n$/);
    assert.doesNotMatch(files.logs.get("bob")!, /an old line/);
    assert.match(files.saved.at(-1)!, /^log\.bob = on$/m);
    // The other settings apply at once too: emoji conversion off, seconds in the time column.
    await h.type("/set emoji off\r");
    await h.type("hi :) :thumbsup:\r");
    assert.equal(h.backend.sent.at(-1)?.text, "hi :) :thumbsup:");
    const shown = (await h.type("/set time_format %H:%M:%S\r")).join("\n");
    assert.match(shown, /\d\d:\d\d:\d\d\s+-- │ time_format = %H:%M:%S/);
    // A value with spaces is one value.
    const ampm = (await h.type("/set time_format %I:%M %p\r")).join("\n");
    assert.match(ampm, /\d\d:\d\d [AP]M\s+-- │ time_format = %I:%M %p/);
  } finally {
    h.close();
  }
});
