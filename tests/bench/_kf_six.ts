import { FramePainter } from "../../lib/media/mod.ts";
const [file, w, h, mode, ww] = [Deno.args[0]!, Number(Deno.args[1]), Number(Deno.args[2]), Deno.args[3], Number(Deno.args[4] ?? 64)];
const img = { width: w, height: h, data: Deno.readFileSync(file), channels: 4 as const };
const pane = { row: 1, col: 1, cols: 200, rows: 59, cellWidth: 10, cellHeight: 20 };
const t0 = performance.now();
const p = new FramePainter("sixel");
const t1 = performance.now();
if (mode === "warm") {
  const d = new Uint8Array(ww * 12 * 4); for (let i = 0; i < d.length; i++) d[i] = (i * 37 + (i >> 7) * 11) & 255;
  p.paintImage({ width: ww, height: 12, data: d, channels: 4 }, pane);
}
const t2 = performance.now();
const r = [];
for (let k = 0; k < 3; k++) { const t = performance.now(); p.paintImage(img, pane); r.push((performance.now() - t).toFixed(1)); }
console.log(mode, ww, "ctor", (t1 - t0).toFixed(1), "warm", (t2 - t1).toFixed(1), "paints", r.join(" "));
