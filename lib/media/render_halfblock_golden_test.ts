/**
 * Golden bytes of both half-block renderers (render_halfblock.ts, render_halfblock_diff.ts): the
 * SHA-256 of everything they write for a fixed sequence of frames — RGBA and RGB, with and without
 * a position, diffed with and without a tolerance, at two sizes, with a reset and a move between.
 * Recorded from the renderers before their per-frame rewrite (issue 75); any change to the bytes
 * (an SGR order, a cursor move form, a skipped cell) changes the hash.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../common/bytes.ts";
import type { RgbaImage } from "./jpeg.ts";
import { renderHalfblock } from "./render_halfblock.ts";
import { HalfblockCanvas } from "./render_halfblock_diff.ts";

/** A deterministic frame: moving stripes, a gradient, a noisy block and a flat block (equal halves). */
function frame(k: number, w: number, h: number, channels: 3 | 4): RgbaImage {
  const data = new Uint8Array(w * h * channels);
  let s = (k * 2654435761 + 7) >>> 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * channels;
      s = (s * 1103515245 + 12345) >>> 0;
      const noisy = x > w / 2 && y < h / 3;
      const still = x < w / 4 && y > h / 2;
      const moving = ((x + k * 3) >> 2) % 2 === 0;
      data[i] = still ? 90 : moving ? 200 + (k & 7) : 20;
      data[i + 1] = still ? 90 : noisy ? s >>> 24 : (y * 4 + (k & 3)) & 255;
      data[i + 2] = still ? 90 : noisy ? (s >>> 16) & 15 : x & 255;
      if (channels === 4) data[i + 3] = 255;
    }
  }
  return channels === 4 ? { width: w, height: h, data } : { width: w, height: h, data, channels: 3 };
}

async function hashOf(parts: Uint8Array[]): Promise<string> {
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return await sha256Hex(all);
}

Deno.test("half-block renderers write the recorded bytes (golden)", async () => {
  const enc = new TextEncoder(), parts: Uint8Array[] = [];
  for (const channels of [3, 4] as const) {
    for (const [w, h, cols, rows] of [[40, 24, 40, 12], [97, 61, 60, 20]] as const) {
      parts.push(enc.encode(renderHalfblock(frame(1, w, h, channels), cols, rows)));
      parts.push(
        enc.encode(renderHalfblock(frame(2, w, h, channels), cols, rows, { at: { row: 3, col: 5 } })),
      );
      for (const tol of [0, 8]) {
        const c = new HalfblockCanvas(tol);
        for (let k = 0; k < 12; k++) {
          if (k === 6) c.reset();
          const at = k === 9 ? { row: 2, col: 2 } : { row: 1, col: 1 };
          parts.push(c.renderBytes(frame(k, w, h, channels), cols, rows, at));
        }
      }
    }
  }
  assert.equal(await hashOf(parts), GOLDEN);
});

/** Recorded on main 0708577 (2,516,722 bytes). */
const GOLDEN = "d5d3222766893bc583c405d9faa335cb8471f4c1219bb32e2ea6fd6c7534b959";
