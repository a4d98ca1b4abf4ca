import assert from "node:assert/strict";
import { Completer, type CompletionSources } from "./completion.ts";

const src: CompletionSources = {
  nicks: ["bobby", "carol", "bob", "Bea"],
  commands: ["help", "history", "msg", "who", "whois"],
  rooms: ["general", "games"],
};

Deno.test("Completer.complete() puts ': ' after a nick at line start, most recent first", () => {
  const c = new Completer();
  assert.deepEqual(c.complete("bo", 2, src), { text: "bobby: ", cursor: 7 });
});

Deno.test("Completer.complete() cycles on repeated Tab and back with Shift-Tab", () => {
  const c = new Completer();
  let r = c.complete("b", 1, src)!;
  assert.equal(r.text, "bobby: ");
  r = c.complete(r.text, r.cursor, src)!;
  assert.equal(r.text, "bob: ");
  r = c.complete(r.text, r.cursor, src)!;
  assert.equal(r.text, "Bea: ");
  r = c.complete(r.text, r.cursor, src)!;
  assert.equal(r.text, "bobby: ");
  r = c.complete(r.text, r.cursor, src, true)!;
  assert.equal(r.text, "Bea: ");
});

Deno.test("Completer.complete() adds a space after a nick in mid-line and keeps the rest", () => {
  const c = new Completer();
  assert.deepEqual(c.complete("hi car and", 6, src), { text: "hi carol and", cursor: 9 });
});

Deno.test("Completer.complete() completes commands, rooms and emoji", () => {
  assert.equal(new Completer().complete("/wh", 3, src)!.text, "/who ");
  assert.equal(new Completer().complete("go to #ge", 9, src)!.text, "go to #general ");
  assert.match(new Completer().complete("nice :smil", 10, src)!.text, /^nice :smile[a-z_]*: $/);
  assert.equal(new Completer().complete("nice :rocke", 11, src)!.text, "nice :rocket: ");
  assert.equal(new Completer().complete("x /wh", 5, src), null);
  assert.equal(new Completer().complete("zz", 2, src), null);
});

Deno.test("Completer.reset() starts a fresh completion", () => {
  const c = new Completer();
  const r = c.complete("b", 1, src)!;
  c.reset();
  assert.equal(c.complete(r.text, r.cursor, src), null);
});

Deno.test("Completer.complete() on an empty command argument offers users or rooms and cycles (issue 14)", () => {
  const withArgs: CompletionSources = {
    ...src,
    argKind: (name, i) => (name === "msg" && i === 0 ? "user" : name === "join" && i === 0 ? "room" : null),
  };
  const c = new Completer();
  let r = c.complete("/msg ", 5, withArgs)!;
  assert.deepEqual(r, { text: "/msg bobby ", cursor: 11, choices: ["bobby", "carol", "bob", "Bea"] });
  r = c.complete(r.text, r.cursor, withArgs)!;
  assert.deepEqual(r, { text: "/msg carol ", cursor: 11 });
  const j = new Completer();
  r = j.complete("/join ", 6, withArgs)!;
  assert.deepEqual(r.choices, ["#general", "#games"]);
  assert.equal(r.text, "/join #general ");
  assert.equal(j.complete(r.text, r.cursor, withArgs)!.text, "/join #games ");
  assert.equal(new Completer().complete("/join ga", 8, withArgs)!.text, "/join #games ");
  assert.equal(new Completer().complete("/help ", 6, withArgs), null);
});

Deno.test("Completer.complete() of /watch-together's #ROOM|@USER keeps the @ of a user and the # of a room", () => {
  const withArgs: CompletionSources = {
    ...src,
    argKind: (name, i) => (name === "watch-together" && i === 0 ? "conv" : null),
  };
  assert.equal(
    new Completer().complete("/watch-together @car", 20, withArgs)!.text,
    "/watch-together @carol ",
  );
  assert.equal(
    new Completer().complete("/watch-together car", 19, withArgs)!.text,
    "/watch-together @carol ",
  );
  assert.equal(
    new Completer().complete("/watch-together #ga", 19, withArgs)!.text,
    "/watch-together #games ",
  );
});

Deno.test("Completer.complete(): Tab after /topic brings the room's topic to edit; with none, the rooms", () => {
  const topic = "Ship 0.19 today; review at 15:00";
  assert.deepEqual(new Completer().complete("/topic ", 7, { ...src, topic }), {
    text: `/topic ${topic}`,
    cursor: 7 + topic.length,
  });
  assert.equal(new Completer().complete("/TOPIC  ", 8, { ...src, topic })!.text, `/TOPIC  ${topic}`);
  const rooms = { ...src, argKind: () => "room" as const };
  assert.equal(new Completer().complete("/topic ", 7, rooms)!.text, "/topic #general ", "no topic: rooms");
  assert.equal(new Completer().complete("/topic #ga", 10, { ...rooms, topic })!.text, "/topic #games ");
  assert.equal(
    new Completer().complete("/msg ", 5, { ...src, topic }),
    null,
    "other commands: not the topic",
  );
});
