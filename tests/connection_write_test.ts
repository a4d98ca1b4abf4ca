/**
 * The client connection writes a big request body (a file's chunks) after its frame's head as it is,
 * not copied into one frame first (issue 36: the relay sender's copy and allocation cost ~40 % of its
 * CPU); a small body is still written as one frame. Checked on a real connection by looking at the
 * buffers handed to the socket, and by the server reading the request whole.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";

Deno.test("a big request body reaches the socket as its own buffer, a small one inside its frame", async () => {
  const t = await startTestServer();
  try {
    const c = await t.connect();
    const written: ArrayBufferLike[] = [];
    const sock = c.conn as { write(b: Uint8Array): Promise<number> };
    const write = sock.write.bind(sock);
    sock.write = (b) => (written.push(b.buffer), write(b));
    await c.request("hello", { v: 1, client: "t" });
    for (const size of [256 * 1024, 1024]) {
      const body = new Uint8Array(size).fill(7);
      written.length = 0;
      // Not a request the server takes (no file), but one it reads whole: its answer follows the body.
      const r = await c.request("file.put", { fid: "x".repeat(16), to: "bob", size, off: 0 }, [body])
        .then(() => "ok", (e) => String(e.code));
      assert.notEqual(r, "closed", "the server read the frame whole");
      const apart = written.includes(body.buffer);
      assert.equal(apart, size >= 64 * 1024, `${size} bytes: written ${apart ? "apart" : "in one frame"}`);
      // The frame's length covered its body: the next request is read as a frame of its own.
      assert.equal((await c.request("ping")).header.t, "ok", `after ${size} bytes`);
    }
  } finally {
    await t.stop();
  }
});
