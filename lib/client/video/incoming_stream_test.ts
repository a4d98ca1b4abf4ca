import assert from "node:assert/strict";
import { encryptFile } from "../../crypto/file_aead.ts";
import type { Connection } from "../session/connection.ts";
import { frameCtx, IncomingStream } from "./incoming_stream.ts";

const offer = { sid: "s1", from: "alice", name: "clip.mp4", width: 16, height: 16 } as const;

Deno.test("IncomingStream drops a replayed or older frame index and keeps a forged one from moving the mark", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const s = new IncomingStream({} as Connection, offer as never, "bob", key);
  const frame = async (i: number) =>
    await encryptFile(key, frameCtx("s1", i, "alice", "bob"), Uint8Array.of(i));
  const f = [await frame(0), await frame(1), await frame(2)];
  s.push({ index: 0, pts: 0 }, f[0]!);
  assert.equal((await s.next())?.index, 0);
  s.push({ index: 1, pts: 40 }, f[1]!);
  assert.equal((await s.next())?.index, 1);
  s.push({ index: 1, pts: 40 }, f[1]!); // replayed by the relay
  s.push({ index: 0, pts: 0 }, f[0]!); // an older one again
  s.push({ index: 99, pts: 0 }, crypto.getRandomValues(new Uint8Array(64))); // forged: does not open
  s.push({ index: 2, pts: 80 }, f[2]!); // still accepted: the forgery did not move the mark
  assert.equal((await s.next())?.index, 2, "frames are opened in arrival order: 2 comes after the others");
  assert.deepEqual([s.received, s.replayed, s.rejected], [3, 2, 1]);
});

Deno.test("IncomingStream's frames are shown as the size they came at, else the size the offer said (issue 34.6: the overlay said 1080p)", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const hd = { ...offer, width: 1280, height: 720 };
  const s = new IncomingStream({} as Connection, hd as never, "bob", key);
  s.push({ index: 0, pts: 0 }, await encryptFile(key, frameCtx("s1", 0, "alice", "bob"), Uint8Array.of(0)));
  assert.equal((await s.next())?.shownAs, "720p");
  const unsized = new IncomingStream({} as Connection, { sid: "s1", from: "alice", name: "x" }, "bob", key);
  unsized.push(
    { index: 0, pts: 0 },
    await encryptFile(key, frameCtx("s1", 0, "alice", "bob"), Uint8Array.of(0)),
  );
  assert.equal((await unsized.next())?.shownAs, "stream");
  // A frame made for a smaller viewer: shown as the size it came at.
  const sof = Uint8Array.of(
    0xff,
    0xd8,
    0xff,
    0xc0,
    0,
    17,
    8,
    0,
    44,
    0,
    80,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  );
  s.push({ index: 1, pts: 40 }, await encryptFile(key, frameCtx("s1", 1, "alice", "bob"), sof));
  const small = await s.next();
  assert.deepEqual([small?.shownAs, small?.width, small?.height], ["44p", 80, 44]);
});
