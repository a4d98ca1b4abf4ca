/**
 * A readline-style line editor with its own input history. Plain data, no terminal.
 *
 * Contract: the text is a list of grapheme clusters and `cursor` an index into it, so a cursor
 * never sits inside an emoji or a CJK character. `key(name)` applies one readline binding (C-a C-e
 * C-b C-f C-u C-k C-w C-y C-d C-t, M-b M-f M-d M-Backspace, arrows, Home/End, Backspace/Delete,
 * Up/Down history) and returns false for keys it does not know. `submit()` returns the line, adds it
 * to the history (no consecutive duplicates, at most `HISTORY_MAX` entries) and clears the editor.
 */
import { clusters, textWidth } from "./width.ts";

export const HISTORY_MAX = 200;

const isSpace = (g: string | undefined) => g === " ";

export class LineEditor {
  #g: string[] = [];
  #cursor = 0;
  #kill = "";
  #history: string[] = [];
  #hpos = 0;
  #draft = "";

  get text(): string {
    return this.#g.join("");
  }
  /** Cursor position in graphemes. */
  get cursor(): number {
    return this.#cursor;
  }
  /** Cells before the cursor. */
  get cursorColumn(): number {
    return textWidth(this.#g.slice(0, this.#cursor).join(""));
  }
  get history(): readonly string[] {
    return this.#history;
  }
  /** Text before the cursor. */
  get before(): string {
    return this.#g.slice(0, this.#cursor).join("");
  }

  /** Replaces the text; the cursor goes to `cursor` graphemes (default: the end). */
  set(text: string, cursor?: number): void {
    this.#g = clusters(text);
    this.#cursor = Math.max(0, Math.min(cursor ?? this.#g.length, this.#g.length));
  }

  /** Inserts text at the cursor. */
  insert(text: string): void {
    const gs = clusters(text);
    // Never `splice(at, 0, ...gs)`: one argument per grapheme overflows the stack on a paste of 200 KB.
    this.#g = this.#g.slice(0, this.#cursor).concat(gs, this.#g.slice(this.#cursor));
    this.#cursor += gs.length;
  }

  /** Returns the current line, records it in the history and clears the editor. */
  submit(): string {
    const t = this.text;
    if (t.trim() !== "" && this.#history[this.#history.length - 1] !== t) {
      this.#history.push(t);
      if (this.#history.length > HISTORY_MAX) this.#history.shift();
    }
    this.#hpos = this.#history.length;
    this.#draft = "";
    this.set("");
    return t;
  }

  #wordStartBefore(i: number): number {
    while (i > 0 && isSpace(this.#g[i - 1])) i--;
    while (i > 0 && !isSpace(this.#g[i - 1])) i--;
    return i;
  }
  #wordEndAfter(i: number): number {
    const n = this.#g.length;
    while (i < n && isSpace(this.#g[i])) i++;
    while (i < n && !isSpace(this.#g[i])) i++;
    return i;
  }
  #cut(from: number, to: number): void {
    if (to <= from) return;
    this.#kill = this.#g.slice(from, to).join("");
    this.#g.splice(from, to - from);
    this.#cursor = from;
  }
  #historyMove(d: number): void {
    const np = this.#hpos + d;
    if (np < 0 || np > this.#history.length) return;
    if (this.#hpos === this.#history.length) this.#draft = this.text;
    this.#hpos = np;
    this.set(np === this.#history.length ? this.#draft : this.#history[np]!);
  }

  /** Applies one key binding; returns false when the key is not an editing key. */
  key(name: string): boolean {
    const n = this.#g.length;
    switch (name) {
      case "C-a":
      case "Home":
        this.#cursor = 0;
        break;
      case "C-e":
      case "End":
        this.#cursor = n;
        break;
      case "C-b":
      case "Left":
        this.#cursor = Math.max(0, this.#cursor - 1);
        break;
      case "C-f":
      case "Right":
        this.#cursor = Math.min(n, this.#cursor + 1);
        break;
      case "M-b":
      case "C-Left":
      case "M-Left":
        this.#cursor = this.#wordStartBefore(this.#cursor);
        break;
      case "M-f":
      case "C-Right":
      case "M-Right":
        this.#cursor = this.#wordEndAfter(this.#cursor);
        break;
      case "Backspace":
        if (this.#cursor > 0) {
          this.#g.splice(this.#cursor - 1, 1);
          this.#cursor--;
        }
        break;
      case "C-d":
      case "Delete":
        if (this.#cursor < n) this.#g.splice(this.#cursor, 1);
        break;
      case "C-u":
        this.#cut(0, this.#cursor);
        break;
      case "C-k":
        this.#kill = this.#g.slice(this.#cursor).join("");
        this.#g.length = this.#cursor;
        break;
      case "C-w":
      case "M-Backspace":
        this.#cut(this.#wordStartBefore(this.#cursor), this.#cursor);
        break;
      case "M-d":
        this.#kill = this.#g.slice(this.#cursor, this.#wordEndAfter(this.#cursor)).join("");
        this.#g.splice(this.#cursor, this.#wordEndAfter(this.#cursor) - this.#cursor);
        break;
      case "C-y":
        this.insert(this.#kill);
        break;
      case "C-t":
        if (n >= 2 && this.#cursor > 0) {
          const c = Math.min(this.#cursor, n - 1);
          [this.#g[c - 1], this.#g[c]] = [this.#g[c]!, this.#g[c - 1]!];
          this.#cursor = c + 1;
        }
        break;
      case "Up":
        this.#historyMove(-1);
        break;
      case "Down":
        this.#historyMove(1);
        break;
      default:
        return false;
    }
    return true;
  }
}
