/** Test helpers for core/emoji.ts: every emoji the conversion can produce. */
import { convertEmoji, emojiNames } from "./emoji.ts";

/** Every emoji `:name:` and the emoticons turn into, each once (the emoticons' are among the names'). */
export function allEmoji(): string[] {
  const names = emojiNames("", Number.MAX_SAFE_INTEGER).map((n) => convertEmoji(`:${n}:`));
  const emoticons = [":)", ":(", ":D", ";)", ":P", "<3", ":[", "(K)", "(8)", "(Y)"].map(convertEmoji);
  return [...new Set([...emoticons, ...names])];
}
