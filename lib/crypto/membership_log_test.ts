import assert from "node:assert/strict";
import fc from "fast-check";
import { generateIdentity, type IdentityKeyPair } from "./identity.ts";
import {
  applyEntry,
  isLogEntry,
  type LogEntry,
  type LogState,
  MAX_SKEW_MS,
  recipientsOf,
  signEntry,
  verifyLog,
} from "./membership_log.ts";

const T0 = 1_700_000_000_000;

async function setup() {
  const ids: Record<string, IdentityKeyPair> = {
    alice: await generateIdentity(),
    bob: await generateIdentity(),
    carol: await generateIdentity(),
  };
  const keyOf = (u: string) => Promise.resolve(ids[u]?.sign.pub);
  const g = await signEntry(ids.alice!, null, {
    room: "team",
    action: "create",
    target: "alice,bob",
    by: "alice",
    at: T0,
  });
  const s0 = ((await applyEntry(null, g, keyOf, T0)) as { state: LogState }).state;
  const add = await signEntry(ids.alice!, s0, {
    room: "team",
    action: "add",
    target: "carol",
    by: "alice",
    at: T0 + 1,
  });
  return { ids, keyOf, g, s0, add };
}

Deno.test("membership log: a valid chain gives its members; recipients come from the log", async () => {
  const { g, add, keyOf } = await setup();
  const r = await verifyLog("team", [g, add], keyOf, T0 + 10);
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.state.members, ["alice", "bob", "carol"]);
  assert.deepEqual(r.state.admins, ["alice"]);
  assert.equal(r.state.epoch, 1);
  assert.deepEqual(recipientsOf(r.state), ["alice", "bob", "carol"]);
});

Deno.test("membership log: (b) a stale change replayed is refused", async () => {
  const { g, add, keyOf } = await setup();
  const r = await verifyLog("team", [g, add, add], keyOf, T0 + 10);
  assert.equal(r.ok, false);
  assert.match((r as { error: string }).error, /out of order.*stale or replayed/);
  // the genesis replayed at epoch 1's place, and an old `at`
  assert.equal((await verifyLog("team", [g, g], keyOf, T0)).ok, false);
  const { ids, s0 } = await setup();
  const late = await signEntry(ids.alice!, s0, {
    room: "team",
    action: "add",
    target: "carol",
    by: "alice",
    at: T0 - 1,
  });
  const r2 = await applyEntry(s0, late, keyOf, T0);
  assert.match((r2 as { error: string }).error, /older than/);
  const future = await signEntry(ids.alice!, s0, {
    room: "team",
    action: "add",
    target: "carol",
    by: "alice",
    at: T0 + MAX_SKEW_MS + 1000,
  });
  assert.match(((await applyEntry(s0, future, keyOf, T0)) as { error: string }).error, /future/);
});

Deno.test("membership log: (c) an unsigned or badly signed change is refused", async () => {
  const { g, add, keyOf } = await setup();
  const { sig: _s, signer: _k, ...unsigned } = add;
  assert.match(((await verifyLog("team", [g, unsigned], keyOf, T0)) as { error: string }).error, /malformed/);
  const bad: LogEntry = { ...add, sig: g.sig };
  assert.match(((await verifyLog("team", [g, bad], keyOf, T0)) as { error: string }).error, /bad signature/);
  const edited: LogEntry = { ...add, target: "mallory" };
  assert.equal((await verifyLog("team", [g, edited], keyOf, T0)).ok, false);
  const broken: LogEntry = { ...add, prev: g.sig.slice(0, 44) };
  assert.match(
    ((await verifyLog("team", [g, broken], keyOf, T0)) as { error: string }).error,
    /does not follow/,
  );
});

Deno.test("membership log: (d) a change signed by a non-admin is refused; admins come from the log", async () => {
  const { ids, g, s0, keyOf } = await setup();
  const byBob = await signEntry(ids.bob!, s0, {
    room: "team",
    action: "add",
    target: "carol",
    by: "bob",
    at: T0,
  });
  assert.match(((await verifyLog("team", [g, byBob], keyOf, T0)) as { error: string }).error, /not an admin/);
  // claiming to be alice with bob's key
  const forged = await signEntry(ids.bob!, s0, {
    room: "team",
    action: "add",
    target: "carol",
    by: "alice",
    at: T0,
  });
  assert.match(
    ((await verifyLog("team", [g, forged], keyOf, T0)) as { error: string }).error,
    /identity key/,
  );
  // a genesis not signed by the creator
  const g2 = await signEntry(ids.bob!, null, {
    room: "team",
    action: "create",
    target: "alice,bob",
    by: "alice",
    at: T0,
  });
  assert.equal((await verifyLog("team", [g2], keyOf, T0)).ok, false);
  // once granted, bob may add
  const grant = await signEntry(ids.alice!, s0, {
    room: "team",
    action: "grant",
    target: "bob",
    by: "alice",
    at: T0,
  });
  const s1 = ((await applyEntry(s0, grant, keyOf, T0)) as { state: LogState }).state;
  const add = await signEntry(ids.bob!, s1, {
    room: "team",
    action: "add",
    target: "carol",
    by: "bob",
    at: T0,
  });
  assert.ok((await verifyLog("team", [g, grant, add], keyOf, T0)).ok);
  // a member may sign their own leave, not anyone else's
  const leave = await signEntry(ids.bob!, s0, {
    room: "team",
    action: "leave",
    target: "bob",
    by: "bob",
    at: T0,
  });
  assert.ok((await verifyLog("team", [g, leave], keyOf, T0)).ok);
  const kick = await signEntry(ids.bob!, s0, {
    room: "team",
    action: "remove",
    target: "alice",
    by: "bob",
    at: T0,
  });
  assert.equal((await verifyLog("team", [g, kick], keyOf, T0)).ok, false);
  // the last admin leaves: the longest-standing member (bob) becomes admin and may add
  const aLeaves = await signEntry(ids.alice!, s0, {
    room: "team",
    action: "leave",
    target: "alice",
    by: "alice",
    at: T0,
  });
  const s2 = ((await applyEntry(s0, aLeaves, keyOf, T0)) as { state: LogState }).state;
  assert.deepEqual(s2.admins, ["bob"]);
  const bobAdds = await signEntry(ids.bob!, s2, {
    room: "team",
    action: "add",
    target: "carol",
    by: "bob",
    at: T0,
  });
  assert.ok((await verifyLog("team", [g, aLeaves, bobAdds], keyOf, T0)).ok);
});

Deno.test("membership log: a rollback or fork of an accepted log is refused", async () => {
  const { ids, g, add, keyOf } = await setup();
  const full = await verifyLog("team", [g, add], keyOf, T0);
  assert.ok(full.ok);
  const known = { epoch: full.state.epoch, head: full.state.head };
  assert.match(((await verifyLog("team", [g], keyOf, T0, known)) as { error: string }).error, /rolled back/);
  const other = await signEntry(
    ids.alice!,
    (await verifyLog("team", [g], keyOf, T0) as { state: LogState }).state,
    {
      room: "team",
      action: "add",
      target: "carol",
      by: "alice",
      at: T0 + 2,
    },
  );
  assert.match(
    ((await verifyLog("team", [g, other], keyOf, T0, known)) as { error: string }).error,
    /differs/,
  );
  assert.ok((await verifyLog("team", [g, add], keyOf, T0, known)).ok);
});

Deno.test("membership log fuzz: arbitrary entries never throw and are refused with a sentence", async () => {
  const { g, keyOf } = await setup();
  await fc.assert(
    fc.asyncProperty(fc.anything(), fc.array(fc.anything(), { maxLength: 3 }), async (x, xs) => {
      assert.equal(typeof isLogEntry(x), "boolean");
      for (const list of [x, [x], [g, x], [g, ...xs]]) {
        const r = await verifyLog("team", list, keyOf, T0);
        if (!r.ok) assert.ok(typeof r.error === "string" && r.error.length > 0);
        else assert.equal(list, list); // only a valid chain passes: [g] alone
      }
    }),
    { numRuns: 300 },
  );
  const mutated = fc.record({
    room: fc.string({ maxLength: 8 }),
    epoch: fc.integer({ min: -1, max: 3 }),
    prev: fc.string({ maxLength: 44 }),
    action: fc.constantFrom("create", "add", "remove", "leave", "grant", "revoke", "x"),
    target: fc.string({ maxLength: 12 }),
    by: fc.constantFrom("alice", "bob", ""),
    at: fc.double(),
    signer: fc.constant(g.signer),
    sig: fc.constantFrom(g.sig, ""),
  });
  await fc.assert(
    fc.asyncProperty(mutated, async (e) => {
      const r = await verifyLog("team", [g, e], keyOf, T0);
      assert.equal(r.ok, false);
    }),
    { numRuns: 300 },
  );
});

/** The next entry after `s` signed by `who` (`by` = who unless given), and the state it gives or its refusal. */
async function step(
  ids: Record<string, IdentityKeyPair>,
  keyOf: (u: string) => Promise<string | undefined>,
  s: LogState,
  who: string,
  action: LogEntry["action"],
  target: string,
  by = who,
) {
  const e = await signEntry(ids[who]!, s, { room: "team", action, target, by, at: s.at + 1 });
  return { e, r: await applyEntry(s, e, keyOf, T0 + 100) };
}

const stateOf = (r: Awaited<ReturnType<typeof applyEntry>>) => {
  assert.ok(r.ok, JSON.stringify(r));
  return r.state;
};
const errorOf = (r: Awaited<ReturnType<typeof applyEntry>>) => {
  assert.equal(r.ok, false, "refused");
  return (r as { error: string }).error;
};

Deno.test("membership log: open rooms: a self-join is accepted only while an admin's open stands", async () => {
  const { ids, keyOf, s0 } = await setup();
  assert.equal(s0.open, false, "a room is closed at creation");
  // closed: carol's own join is refused
  assert.match(errorOf((await step(ids, keyOf, s0, "carol", "join", "carol")).r), /not open/);
  // a member (not admin) cannot open it
  assert.match(errorOf((await step(ids, keyOf, s0, "bob", "open", "")).r), /not an admin/);
  const s1 = stateOf((await step(ids, keyOf, s0, "alice", "open", "")).r);
  assert.equal(s1.open, true);
  assert.match(errorOf((await step(ids, keyOf, s1, "alice", "open", "")).r), /already open/);
  const s2 = stateOf((await step(ids, keyOf, s1, "carol", "join", "carol")).r);
  assert.deepEqual(s2.members, ["alice", "bob", "carol"]);
  assert.deepEqual(s2.admins, ["alice"], "a joiner is no admin");
  // a member joining again, or someone joining another user in, is refused
  assert.match(errorOf((await step(ids, keyOf, s2, "carol", "join", "carol")).r), /by a member/);
  assert.match(errorOf((await step(ids, keyOf, s1, "carol", "join", "bob")).r), /for someone else/);
  // closed again: members stay, a new self-join is refused
  const s3 = stateOf((await step(ids, keyOf, s2, "alice", "close", "")).r);
  assert.equal(s3.open, false);
  assert.deepEqual(s3.members, ["alice", "bob", "carol"]);
  ids.dave = await generateIdentity();
  assert.match(errorOf((await step(ids, keyOf, s3, "dave", "join", "dave")).r), /not open/);
  assert.match(errorOf((await step(ids, keyOf, s3, "bob", "close", "")).r), /not an admin/);
  // the whole chain verifies from its genesis, and the open state is the log's
  const s4 = stateOf((await step(ids, keyOf, s1, "dave", "join", "dave")).r);
  assert.deepEqual(s4.members, ["alice", "bob", "dave"]);
});

Deno.test("membership log: open rooms: a join or an open forged by the server is refused", async () => {
  const { ids, keyOf, s0 } = await setup();
  // The server (or anyone holding its own key) signs a join in carol's name to a closed room, and to an open one.
  const server = await generateIdentity();
  const forge = async (s: LogState, action: LogEntry["action"], target: string, by: string) =>
    await applyEntry(
      s,
      await signEntry(server, s, { room: "team", action, target, by, at: s.at + 1 }),
      keyOf,
      T0 + 100,
    );
  assert.match(errorOf(await forge(s0, "open", "", "alice")), /not signed with alice's identity key/);
  const s1 = stateOf((await step(ids, keyOf, s0, "alice", "open", "")).r);
  assert.match(errorOf(await forge(s1, "join", "carol", "carol")), /not signed with carol's identity key/);
  // a user the server controls joins a room the log says closed: refused whatever its signature
  const closed = stateOf((await step(ids, keyOf, s1, "alice", "close", "")).r);
  ids.mallory = server;
  assert.match(errorOf((await step(ids, keyOf, closed, "mallory", "join", "mallory")).r), /not open/);
  // an open or close with a target, and a join as a malformed action, are refused
  assert.match(errorOf((await step(ids, keyOf, s0, "alice", "open", "carol")).r), /opens/);
  assert.equal(
    isLogEntry({ ...(await step(ids, keyOf, s1, "carol", "join", "carol")).e, action: "enter" }),
    false,
  );
});
