/**
 * How the terminal draws emoji sequences, asked rather than guessed (issue 71.24). Pure.
 *
 * Contract: `EMOJI_PROBE` draws three samples at the top-left cell (the cursor saved and restored
 * around them; the caller repaints after) and asks after each where the cursor went (CSI 6n): `❤️`
 * (a narrow character with U+FE0F), a family joined with U+200D, and a thumb with a skin-tone
 * modifier. Terminals answer in order, before the replies to anything asked after the probe.
 * `parseEmojiReplies` takes the three cursor reports out of what arrived (keys typed meanwhile are
 * handed back in `rest`) and gives width.ts's `EmojiCells` once all three came.
 */
import type { EmojiCells } from "./width.ts";

const SAMPLES = ["\u2764\ufe0f", "\u{1f468}\u200d\u{1f469}\u200d\u{1f467}", "\u{1f44d}\u{1f3fd}"];

/** Save the cursor, draw each sample at row 1 column 1 and ask for the cursor, restore the cursor. */
export const EMOJI_PROBE: string = "\x1b7" + SAMPLES.map((s) => `\x1b[1;1H${s}\x1b[6n`).join("") + "\x1b8";

// deno-lint-ignore no-control-regex
const CPR = /\x1b\[(\d+);(\d+)R/g;

/** The terminal's emoji cells once its three cursor reports arrived (else null), and the other bytes. */
export function parseEmojiReplies(input: string): { cells: EmojiCells | null; rest: string } {
  const cols: number[] = [];
  const rest = input.replace(CPR, (m, _row: string, col: string) => {
    if (cols.length >= SAMPLES.length) return m; // not one of ours: a key (Shift+F3 reads the same)
    cols.push(Number(col) - 1);
    return "";
  });
  if (cols.length < SAMPLES.length) return { cells: null, rest };
  const [heart, family, thumb] = cols as [number, number, number];
  return { cells: { vs16: heart >= 2 ? 2 : 1, zwj: family === 2, tone: thumb === 2 }, rest };
}
