/**
 * A signal (typing, watch-together) reaches every process of the recipient's folder that follows the
 * live feed (a day of real use: `parley watch-together` beside the full-screen client of the same
 * folder). Both are the same device and both get the signal; opening it takes a ratchet (or chain)
 * step, so the second to try cannot open it again: the first files what it opened in the folder's
 * keystore for a minute (e2e/controls.ts) and the second reads it there.
 */
import assert from "node:assert/strict";
import type { BackendEvent, Target } from "../lib/client/backend.ts";
import { envelopeOf } from "../lib/client/core/server_link.ts";
import type { SealedEnvelope } from "../lib/client/core/link.ts";
import { eventually, startTestServer } from "./helpers.ts";

const typings = (ev: BackendEvent[]) =>
  ev.flatMap((e) => (e.type === "typing" ? [`${e.from}>${e.to.kind}:${e.to.name ?? ""}:${e.active}`] : []));

Deno.test("signals: two clients of one folder both get every DM and room signal, 10 of 10 each", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.e2eClient("alice");
    const screen = await t.e2eClient("bob");
    const script = await t.e2eClient("bob", { register: false, home: `${t.dir}/home-bob` });
    const seen = { screen: [] as BackendEvent[], script: [] as BackendEvent[] };
    screen.client.on((e) => seen.screen.push(e));
    script.client.on((e) => seen.script.push(e));
    for (const c of [alice, screen, script]) await c.client.start();
    await alice.client.commands.createRoom("team", ["bob"]);
    const dm: Target = { kind: "user", name: "bob" }, room: Target = { kind: "room", name: "team" };
    await alice.client.send(dm, "hello");
    await alice.client.send(room, "hello room"); // the room key is handed out here
    const want: string[] = [];
    for (let i = 0; i < 10; i++) {
      const to = i % 2 ? room : dm;
      alice.client.typing.set(to, i % 4 < 2);
      want.push(`alice>${to.kind}:${to.kind === "room" ? "team" : "bob"}:${i % 4 < 2}`);
      await eventually(
        () => typings(seen.screen).length > i && typings(seen.script).length > i,
        5000,
        `signal ${i + 1}`,
      );
    }
    assert.deepEqual(typings(seen.screen), want);
    assert.deepEqual(typings(seen.script), want);
    // The same signal sent again (a replaying server) is taken by neither: each process takes it once.
    const got: SealedEnvelope[] = [];
    screen.client.conn.onPush((f) => void (f.header.t === "ephemeral" && got.push(envelopeOf(f))));
    alice.client.typing.set(dm, false);
    await eventually(
      () => typings(seen.screen).length === 11 && typings(seen.script).length === 11,
      5000,
      "one more",
    );
    const e = got[0]!;
    for (const c of [screen, script]) {
      assert.equal(await c.codec.openSignal({ ...e }, e.body), null, "sent again");
    }
  } finally {
    await t.stop();
  }
});

Deno.test("signals: what an earlier process filed for the folder goes at the next login once its minute is up", async () => {
  const t = await startTestServer();
  try {
    const first = await t.e2eClient("bob");
    const now = Date.now();
    const entry = (id: string, at: number) => ({ from: "alice", id, at, value: "dHlwaW5n" });
    await first.codec.cs.commit({
      put: { "signals:opened": [entry("old", now - 120_000), entry("new", now)] },
      del: [],
    });
    const next = await t.e2eClient("bob", { register: false, home: `${t.dir}/home-bob` });
    const left = (await next.codec.cs.get("signals:opened")) as { id: string }[];
    assert.deepEqual(left.map((e) => e.id), ["new"], "the old one is gone, the one in its minute stays");
  } finally {
    await t.stop();
  }
});

Deno.test("signals: one that cannot be opened (alice's, replayed under new ids) is said as a warning, each one", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.e2eClient("alice"), bob = await t.e2eClient("bob");
    const warned: string[] = [], heard: BackendEvent[] = [];
    bob.client.on((e) => void (e.type === "notice" && e.level === "warn" && warned.push(e.text)));
    bob.client.on((e) => void (e.type === "signal" && heard.push(e)));
    for (const c of [alice, bob]) await c.client.start();
    const link = alice.client.link, signal = link.signal.bind(link);
    const sent: Parameters<typeof signal>[] = [];
    link.signal = (...a) => (sent.push(a), signal(...a));
    const dm: Target = { kind: "user", name: "bob" };
    const payload = (mid: string) => new TextEncoder().encode(JSON.stringify({ v: 1, k: "test", mid }));
    assert.ok(await alice.client.signal(dm, payload));
    await eventually(() => heard.length === 1, 5000, "the signal");
    const [to, , body, o] = sent[0]!;
    for (const mid of ["r1".repeat(12), "r2".repeat(12)]) await signal(to, mid, body, o); // the ratchet says no
    await eventually(() => warned.length === 2, 5000, "a warning for each");
    assert.ok(
      warned.every((w) => /^alice: a signal that could not be opened was dropped \(/.test(w)),
      warned.join("; "),
    );
    assert.equal(heard.length, 1, "nothing more handed on");
  } finally {
    await t.stop();
  }
});
