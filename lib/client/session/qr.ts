/**
 * A QR code of a short text (the device link code) drawn with half-block characters, two module
 * rows per text line, light modules as full blocks so it reads on a dark terminal background; a
 * quiet zone of 4 modules all round (ISO/IEC 18004). The matrix comes from the `qrcode` package.
 * Pure: returns lines; `device link` prints them on standard error when it is a wide enough terminal.
 */
import QRCode from "qrcode";

const QUIET = 4;

/** The QR code of `text` as lines of half-blocks; null when it would be wider than `columns`. */
export function qrLines(text: string, columns = Infinity): string[] | null {
  const q = QRCode.create(text, { errorCorrectionLevel: "L" });
  const n = q.modules.size;
  const side = n + 2 * QUIET;
  if (side > columns) return null;
  const dark = (y: number, x: number) => {
    const [my, mx] = [y - QUIET, x - QUIET];
    return my >= 0 && mx >= 0 && my < n && mx < n && q.modules.get(my, mx) === 1;
  };
  const out: string[] = [];
  for (let y = 0; y < side; y += 2) {
    let line = "";
    for (let x = 0; x < side; x++) {
      const top = !dark(y, x), bottom = y + 1 < side && !dark(y + 1, x); // light = drawn
      line += top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " ";
    }
    out.push(line);
  }
  return out;
}
