/**
 * Counted words in what users read ("1 message", "3 messages"): the one pluralising rule of the
 * server's and the client's lines (issue 35's one home per rule); and the one rule for a line of text
 * a user sets (a topic, an away reason, a highlight): one line, at most so many code points. English
 * only; pure.
 */

/** `n` and `word`, plural unless `n` is 1 (`many`: an irregular plural, e.g. "are" for "is"). */
export function counted(n: number, word: string, many = `${word}s`): string {
  return `${n} ${agree(n, word, many)}`;
}

/** `word` or its plural by `n`, without the number ("is"/"are": `agree(n, "is", "are")`). */
export function agree(n: number, word: string, many = `${word}s`): string {
  return n === 1 ? word : many;
}

/** Why `text` cannot be `what` (a line break, more than `max` code points): "A topic is one line"; null when it can. */
export function lineProblem(what: string, text: string, max: number): string | null {
  if (/[\r\n\u2028\u2029]/.test(text)) return `${what} is one line`;
  const n = [...text].length;
  return n > max ? `${what} is at most ${max} characters (this one has ${n})` : null;
}
