import assert from "node:assert/strict";
import jsQRModule from "jsqr";

// The package's CommonJS default export is the function itself (its typings say otherwise).
const jsQR = jsQRModule as unknown as (d: Uint8ClampedArray, w: number, h: number) => { data: string } | null;
import { qrLines } from "./qr.ts";

/** Reads the half-block lines back into pixels (light = drawn) and decodes them with jsQR. */
function decode(lines: string[]): string | null {
  const scale = 4, w = [...lines[0]!].length, h = lines.length * 2;
  const px = new Uint8ClampedArray(w * scale * h * scale * 4).fill(0);
  lines.forEach((l, row) =>
    [...l].forEach((c, x) => {
      const light = [c === "█" || c === "▀", c === "█" || c === "▄"];
      light.forEach((on, half) => {
        if (!on) return;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const i = (((row * 2 + half) * scale + dy) * w * scale + x * scale + dx) * 4;
            px[i] = px[i + 1] = px[i + 2] = 255;
          }
        }
      });
    })
  );
  for (let i = 3; i < px.length; i += 4) px[i] = 255;
  return jsQR(px, w * scale, h * scale)?.data ?? null;
}

Deno.test("qrLines() draws a link code that a QR reader decodes; too narrow gives null", () => {
  const code = "ABCD-EFGH-JKLM-NPQR-STUV-WXYZ-2345-6789";
  const lines = qrLines(code)!;
  assert.ok(lines.length > 10 && [...lines[0]!].every((c) => c === "█"), "a light quiet zone on top");
  assert.equal(decode(lines), code);
  assert.equal(qrLines(code, 20), null);
});
