/**
 * Issue 69 N4, the attack: the server stamps each envelope's `ts`, and a disappearing message's timer
 * started there, so a server stamping far-future times kept "disappearing" messages on every device.
 * The sender now seals its own time (`at`) in the payload: the timer starts no later than that plus
 * a small skew (e2e/changes.ts `startsAt`), and a disappearing message stamped minutes ahead of the
 * recipient's clock is refused and said; the recipient keeps nothing past sender time + expiry.
 */
import assert from "node:assert/strict";
import type { BackendEvent } from "../lib/client/backend.ts";
import { FUTURE_TS_MS, SEALED_SKEW_MS } from "../lib/client/e2e/changes.ts";
import { eventually, startTestServer } from "./helpers.ts";

const TTL_S = 60;

/** Alice sends bob a text (disappearing unless `ttl` is 0) through a server whose clock runs `ahead` ms fast. */
async function stampedAhead(ahead: number, ttl = TTL_S) {
  let offset = 0; // the server's clock: right while keys are set up, then `ahead`
  const t = await startTestServer({}, { clock: { now: () => Date.now() + offset } });
  const alice = await t.e2eClient("alice");
  const bob = await t.e2eClient("bob");
  const seen: BackendEvent[] = [];
  bob.client.on((e) => seen.push(e));
  await alice.client.start();
  await bob.client.start();
  const toBob = { kind: "user" as const, name: "bob" };
  await alice.client.send(toBob, "hello"); // a session between them
  await eventually(() => seen.some((e) => e.type === "message" && e.message.text === "hello"), 5000, "hello");
  if (ttl) await alice.client.changes!.setExpiry(toBob, ttl);
  offset = ahead;
  const sentAt = Date.now();
  const m = await alice.client.send(toBob, "this will vanish");
  await eventually(
    () =>
      bob.store.get(m.seq) !== undefined || seen.some((e) => e.type === "notice" && /future/.test(e.text)),
    5000,
    "bob got it or refused it",
  );
  return { t, sentAt, m, got: bob.store.get(m.seq), seen, own: alice.store.get(m.seq) };
}

Deno.test("expiry (issue 69 N4, the attack): a server stamping a far-future ts does not keep a disappearing message past sender time + expiry", async () => {
  const r = await stampedAhead(365 * 86400_000);
  try {
    const bound = r.sentAt + SEALED_SKEW_MS + TTL_S * 1000 + 5000;
    assert.ok(
      r.got === undefined || (r.got.expires ?? Infinity) <= bound,
      `kept until ${new Date(r.got?.expires ?? 0).toISOString()}, past sender time + expiry`,
    );
    const notes = r.seen.flatMap((e) => e.type === "notice" ? [e.text] : []);
    assert.ok(notes.some((n) => /alice/.test(n) && /minutes in the future/.test(n)), notes.join(" | "));
    assert.ok((r.own?.expires ?? Infinity) <= bound, "the sender's own copy too");
  } finally {
    await r.t.stop();
  }
});

Deno.test("expiry (issue 69 N4): a stamp a few minutes ahead (within the refusal bound) starts the timer at the sealed time + skew", async () => {
  const ahead = FUTURE_TS_MS - 60_000;
  const r = await stampedAhead(ahead);
  try {
    assert.ok(r.got, "taken: within the bound");
    assert.ok(r.got.ts >= r.sentAt + ahead, "the server's stamp is kept as its time");
    assert.ok(r.got.expires! <= Date.now() + SEALED_SKEW_MS + TTL_S * 1000, "not the server's time + ttl");
    assert.ok(r.got.expires! < r.got.ts + TTL_S * 1000);
  } finally {
    await r.t.stop();
  }
});

Deno.test("edit window (issue 69 N4): a text stamped a year ahead is refused and said, so its 24-hour edit window cannot stay open a year", async () => {
  const r = await stampedAhead(365 * 86400_000, 0);
  try {
    assert.equal(r.got, undefined, "not kept with the server's time");
    const notes = r.seen.flatMap((e) => e.type === "notice" ? [e.text] : []);
    assert.ok(notes.some((n) => /alice/.test(n) && /minutes in the future/.test(n)), notes.join(" | "));
  } finally {
    await r.t.stop();
  }
});
