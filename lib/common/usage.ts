/**
 * A command's arguments read from its usage string, the one grammar of the TUI's slash commands
 * and the server console (rule 3: the table's usage is the check). Pure.
 *
 * Contract: `arity("USER [SECONDS]")` counts required words (not in brackets) and all words; a last
 * word `TEXT`, `X…` or `[X…]` takes the rest of the line. `splitUsage(usage, text)` splits a typed
 * line by that usage and returns the words, or null when there are too few or too many.
 */

export interface Arity {
  min: number;
  max: number;
  rest: boolean;
}

/** Reads the argument counts from a usage string (`USER [SECONDS]`, `USER TEXT`, `NAME USER…`). */
export function arity(usage: string): Arity {
  const toks = usage.split(/\s+/).filter(Boolean);
  const min = toks.filter((t) => !t.startsWith("[")).length;
  const last = toks[toks.length - 1] ?? "";
  const rest = /^\[?TEXT\]?$/.test(last) || last.endsWith("…") || last.endsWith("…]");
  return { min, max: toks.length, rest };
}

/** Splits `text` into at most `max` words; with `rest`, the last one takes what is left of the line. */
export function splitArgs(text: string, max: number, rest: boolean): string[] {
  const out: string[] = [];
  let s = text.trim();
  while (s !== "") {
    if (rest && out.length === max - 1) {
      out.push(s);
      break;
    }
    const m = /^(\S+)\s*/.exec(s)!;
    out.push(m[1]!);
    s = s.slice(m[0].length);
  }
  return out;
}

/** The words of `text` by `usage`, or null when their number does not fit it. */
export function splitUsage(usage: string, text: string): string[] | null {
  const a = arity(usage);
  const args = splitArgs(text, a.max, a.rest);
  return args.length < a.min || (!a.rest && args.length > a.max) ? null : args;
}
