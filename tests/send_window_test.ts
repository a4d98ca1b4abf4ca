/**
 * Issue 15: a connection whose sends are not yet committed beyond SEND_WINDOW is not read further;
 * the rest of a pipelined flood waits in TCP buffers, and every send still gets its ok once the
 * disk catches up (each one committed before its ok).
 */
import assert from "node:assert/strict";
import { encodeFrame, type Frame, FrameDecoder } from "../lib/protocol/frame.ts";
import { SEND_WINDOW } from "../lib/server/server.ts";
import type { NewMessage } from "../lib/server/store/store.ts";
import { eventually, startTestServer } from "./helpers.ts";

async function rawLogin(t: { port: number; cert: string }, user: string) {
  const c = await Deno.connectTls({ hostname: "127.0.0.1", port: t.port, caCerts: [t.cert] });
  const dec = new FrameDecoder(1 << 24);
  const frames: Frame[] = [];
  const reading = (async () => {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await c.read(buf);
        if (n === null) return;
        frames.push(...dec.push(buf.slice(0, n)));
      }
    } catch { /* closed */ }
  })();
  const write = async (b: Uint8Array) => {
    for (let o = 0; o < b.length;) o += await c.write(b.subarray(o));
  };
  await write(encodeFrame({ t: "hello", id: 1, v: 1, client: "raw" }));
  await write(encodeFrame({ t: "register", id: 2, user, password: `pw-${user}-secret` }));
  await eventually(
    () => frames.some((f) => f.header.id === 2 && f.header.t === "ok"),
    5000,
    `${user} registered`,
  );
  return { c, frames, write, reading };
}

Deno.test("a pipelined flood of sends is read at most SEND_WINDOW ahead of the commits", async () => {
  const t = await startTestServer();
  const store = t.srv.deps.store;
  const append = store.appendMessages.bind(store);
  let open!: () => void;
  const gate = new Promise<void>((r) => open = r);
  let handed = 0; // messages that reached the store
  store.appendMessages = async (b: NewMessage[], a) => {
    handed += b.length;
    await gate;
    return append(b, a);
  };
  const bob = await rawLogin(t, "bob");
  const alice = await rawLogin(t, "alice");
  try {
    const N = 8 * SEND_WINDOW;
    const flood = [];
    for (let i = 0; i < N; i++) {
      flood.push(
        encodeFrame(
          {
            t: "send",
            id: 100 + i,
            to: { kind: "user", name: "bob" },
            mid: `mid-${String(i).padStart(6, "0")}`,
          },
          new Uint8Array(64),
        ),
      );
    }
    const all = new Uint8Array(flood.reduce((n, f) => n + f.length, 0));
    flood.reduce((o, f) => (all.set(f, o), o + f.length), 0);
    // The event: alice's reader waits for commits (nothing is committed: it reads no more until then).
    const session = [...t.srv.hub.sessionsOf("alice")][0]!;
    const below = session.inflightBelow.bind(session);
    let paused = false;
    session.inflightBelow = (n) => ((paused ||= session.inflight >= n), below(n));
    const writing = alice.write(all);
    await eventually(() => handed > 0, 5000, "the first batch reached the store");
    await eventually(() => paused || null, 5000, "alice's reader waiting for a commit");
    const taken = handed + t.srv.core.messages.queued;
    assert.ok(taken <= SEND_WINDOW, `${taken} sends taken while none was committed (window ${SEND_WINDOW})`);
    open();
    await writing;
    await eventually(
      () => alice.frames.filter((f) => f.header.t === "ok" && Number(f.header.id) >= 100).length === N,
      20_000,
      "every send answered",
    );
    assert.equal(alice.frames.filter((f) => f.header.t === "err").length, 0);
  } finally {
    open();
    alice.c.close();
    bob.c.close();
    await Promise.all([alice.reading, bob.reading]);
    await t.stop();
  }
});
