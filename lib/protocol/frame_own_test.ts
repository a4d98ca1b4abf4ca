/**
 * An owning FrameDecoder (issue 36: a receive frees its buffers as it goes): whatever it frees, every
 * frame still decodes to what was sent, a piece of a shared buffer (a pool's) is never freed, a
 * body freed by its reader leaves later frames whole, and the pieces of big frames are freed.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { encodeFrame, FrameDecoder, releaseBody } from "./frame.ts";

const SIZES = [0, 9, 3000, 70_000, 200_000];

/** Frame `i` of the stream: its body says which one it is in every byte. */
function frameOf(i: number, size: number): Uint8Array {
  return encodeFrame({ t: "ok", id: i }, new Uint8Array(size).fill(i % 251));
}

Deno.test("FrameDecoder owns: frames decode whole under any split while pieces and bodies are freed", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...SIZES), { minLength: 1, maxLength: 8 }),
      fc.array(fc.tuple(fc.integer({ min: 1, max: 90_000 }), fc.boolean(), fc.boolean()), { minLength: 40 }),
      (sizes, cuts) => {
        const frames = sizes.map((s, i) => frameOf(i, s));
        const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        frames.reduce((o, f) => (all.set(f, o), o + f.length), 0);
        // Pieces as a socket gives them: node Buffers of their own, or views of one shared buffer.
        // The pool starts with a byte of someone else's: no piece spans all of it, the last ends with it.
        const pool = Buffer.alloc(all.length + 1), pieces: Uint8Array[] = [];
        pool.set(all, 1);
        let at = 0;
        for (let k = 0; at < all.length; k++) {
          const [len, shared] = cuts[k % cuts.length]!;
          const end = Math.min(all.length, at + len);
          pieces.push(shared ? pool.subarray(at + 1, end + 1) : Buffer.from(all.subarray(at, end)));
          at = end;
        }
        const d = new FrameDecoder(1 << 20, { owns: true });
        let got = 0, k = 0;
        for (const p of pieces) {
          for (const f of d.push(p)) {
            assert.deepEqual(f.header, { t: "ok", id: got });
            assert.equal(f.body.length, sizes[got]);
            assert.ok(f.body.every((b) => b === got % 251), `frame ${got} arrived whole`);
            if (cuts[k++ % cuts.length]![2]) releaseBody(f.body);
            got++;
          }
        }
        assert.equal(got, frames.length);
        assert.equal(pool.length, all.length + 1, "a shared buffer is never freed");
        // A piece lying wholly inside a big frame (none of it lent out) is freed once copied.
        const ownPieces = pieces.filter((p) => p.byteOffset === 0 && p.buffer !== pool.buffer);
        if (sizes.includes(200_000) && ownPieces.length > 6) {
          assert.ok(ownPieces.some((p) => p.length === 0), "pieces of a big frame are freed");
        }
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("FrameDecoder owns: a piece that ends a big frame read in place, then holds one whole big frame, frees that piece once", () => {
  const x = frameOf(0, 200_000), y = frameOf(1, 70_000), z = frameOf(2, 9);
  for (const tail of [[y], [y, z], [z, y]]) {
    const rest = new Uint8Array([...x.subarray(1000), ...tail.flatMap((f) => [...f])]);
    const d = new FrameDecoder(1 << 20, { owns: true }), piece = Buffer.from(rest);
    const got = [...d.push(Buffer.from(x.subarray(0, 1000))), ...d.push(piece)];
    // Copied out to its last byte, the piece is freed; a small frame's view keeps it whole.
    assert.equal(
      piece.length,
      tail.length === 1 ? 0 : rest.length,
      "the piece is freed once its frames are copied",
    );
    assert.deepEqual(got.map((f) => f.header.id), [0, ...tail.map((f) => (f === y ? 1 : 2))]);
    for (const f of got) {
      const i = f.header.id as number;
      assert.equal(f.body.length, [200_000, 70_000, 9][i]);
      assert.ok(f.body.every((b) => b === i), `frame ${i} arrived whole`);
    }
    assert.equal(d.buffered, 0);
  }
});

Deno.test("FrameDecoder without owns frees nothing it was given, and marks no body its own", () => {
  const f = frameOf(1, 200_000);
  const pieces = [f.slice(0, 70_000), f.slice(70_000)];
  const got = new FrameDecoder(1 << 20).push(pieces[0]!).concat(new FrameDecoder(1 << 20).push(f));
  assert.equal(pieces[0]!.length, 70_000);
  assert.equal(got.length, 1);
  assert.equal(releaseBody(got[0]!.body), false);
  assert.equal(got[0]!.body.length, 200_000);
});
