/**
 * Emoji in outgoing text: the one home of the conversion rule, used by the full-screen client
 * (on send, and for `:name` Tab completion) and the scripted `send` (unless `--raw`). Pure
 * (node-emoji holds the data, from the gemoji/emojilib set).
 *
 * Contract: `convertEmoji` turns the emoticons `:)` `:-)` `:(` `:-(` `:D` `:-D` `;)` `;-)` `:P`
 * `:-P` `<3` `:[` `(L)` `(K)` `(8)` `(Y)` into emoji when they stand alone (start of text or after a
 * space, and followed by the end, a space or punctuation), so `http://x` or `f(8)` are left alone;
 * `:name:` becomes the emoji when `name` is known (node-emoji's names plus the common aliases in
 * `ALIASES`, such as `:thumbsup:`), otherwise the text is kept. `emojiNames(prefix)` lists known
 * names for completion. The emoticon set follows MSN Messenger, where `:[` is the bat 🦇 and `(8)`
 * a musical note.
 */
import * as nodeEmoji from "node-emoji";

const EMOTICONS: Readonly<Record<string, string>> = {
  ":)": "🙂",
  ":-)": "🙂",
  ":(": "🙁",
  ":-(": "🙁",
  ":D": "😃",
  ":-D": "😃",
  ";)": "😉",
  ";-)": "😉",
  ":P": "😛",
  ":p": "😛",
  ":-P": "😛",
  ":-p": "😛",
  "<3": "❤️",
  ":[": "🦇",
  "(L)": "❤️",
  "(l)": "❤️",
  "(K)": "💋",
  "(k)": "💋",
  "(8)": "🎵",
  "(Y)": "👍",
  "(y)": "👍",
};

/** Common shortcodes (GitHub, Slack) that node-emoji spells differently. */
const ALIASES: Readonly<Record<string, string>> = {
  thumbsup: "👍",
  thumbsdown: "👎",
  thinking_face: "🤔",
  facepalm: "🤦",
  shrug: "🤷",
  partying_face: "🥳",
};

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const EMOTICON_RE = new RegExp(
  `(^|\\s)(${
    Object.keys(EMOTICONS).sort((a, b) => b.length - a.length).map(escapeRe).join("|")
  })(?=$|\\s|[.,!?;])`,
  "g",
);
const SHORTCODE_RE = /:([a-z0-9_+-]{1,40}):/gi;

/** Converts emoticons and `:name:` shortcodes in text about to be sent. */
export function convertEmoji(text: string): string {
  const a = text.replace(EMOTICON_RE, (_m, pre: string, code: string) => pre + (EMOTICONS[code] ?? code));
  return a.replace(SHORTCODE_RE, (m, name: string) => {
    const n = name.toLowerCase();
    return ALIASES[n] ?? nodeEmoji.get(n) ?? m;
  });
}

let allNames: string[] | null = null;

/** Known shortcode names starting with `prefix` (no colons), shortest first, at most `limit`. */
export function emojiNames(prefix: string, limit = 50): string[] {
  if (!allNames) {
    allNames = [...nodeEmoji.search("").map((e) => e.name), ...Object.keys(ALIASES)].sort((a, b) =>
      a.length - b.length || (a < b ? -1 : 1)
    );
  }
  const p = prefix.toLowerCase();
  const out: string[] = [];
  for (const n of allNames) {
    if (n.startsWith(p)) out.push(n);
    if (out.length >= limit) break;
  }
  return out;
}
