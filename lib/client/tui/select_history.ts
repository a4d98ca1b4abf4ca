/**
 * The edit history of a selected message (selection mode's h or Enter, select.ts) as banner rows:
 * a title, then each text it had with the time it began to show, oldest first, the current one last
 * and marked "(now)". Pure; the earlier texts come from `ChatBackend.changes.editsOf` (untrusted: sanitised
 * here, one row each).
 */
import type { Line } from "./buffers.ts";
import { sanitize } from "../../common/sanitize.ts";

/** At most `max` rows; when there are more versions, the oldest give way to a "… N earlier" row. */
export function historyRows(
  line: Line,
  edits: readonly { at: number; text: string }[],
  formatTime: (ts: number) => string,
  max: number,
): string[] {
  const who = line.kind === "own" ? "your message" : `${line.from}'s message`;
  if (!edits.length) return [`${who} was never edited (Esc closes)`];
  // Edit n replaced the text it names at `at`: each text showed from the previous edit on.
  const versions = edits.map((e, i) => ({ from: i ? edits[i - 1]!.at : line.ts, text: sanitize(e.text) }));
  versions.push({
    from: edits[edits.length - 1]!.at,
    text: sanitize((line.body ?? line.text).replace(/\n/g, " ")),
  });
  const rows = versions.map((v, i) =>
    `  ${formatTime(v.from)}  ${v.text}${i === versions.length - 1 ? " (now)" : ""}`
  );
  const room = Math.max(2, max - 1);
  const shown = rows.length > room
    ? [`  … ${rows.length - room + 1} earlier`, ...rows.slice(-(room - 1))]
    : rows;
  return [`Edits of ${who}, oldest first (Esc closes):`, ...shown];
}
