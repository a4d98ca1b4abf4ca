/**
 * Counted words in what users read ("1 message", "3 messages"): the one pluralising rule of the
 * server's and the client's lines (issue 35's one home per rule). English only; pure.
 */

/** `n` and `word`, plural unless `n` is 1 (`many`: an irregular plural, e.g. "are" for "is"). */
export function counted(n: number, word: string, many = `${word}s`): string {
  return `${n} ${agree(n, word, many)}`;
}

/** `word` or its plural by `n`, without the number ("is"/"are": `agree(n, "is", "are")`). */
export function agree(n: number, word: string, many = `${word}s`): string {
  return n === 1 ? word : many;
}
