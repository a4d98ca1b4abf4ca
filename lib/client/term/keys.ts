/**
 * Terminal input bytes → key events. Pure and incremental.
 *
 * Contract: `KeyDecoder.push(bytes)` returns the events completed by those bytes and keeps any
 * incomplete tail (a UTF-8 sequence, an escape sequence, a bracketed paste) for the next call, so
 * how the input is split into reads never changes the events. `flush()` is called when no more input
 * came for a moment: a pending lone ESC then becomes the `Escape` key.
 *
 * Events: `{type:"text"}` for printable text (consecutive characters merged), `{type:"paste"}` for a
 * bracketed paste, `{type:"key"}` with names like `Enter`, `Tab`, `S-Tab`, `Backspace`, `Up`,
 * `PageUp`, `F5`, `C-a`, `M-1`, `M-Backspace`, `C-Left` (modifier prefixes in the order C-, M-, S-).
 */

export type KeyEvent =
  | { type: "key"; key: string }
  | { type: "text"; text: string }
  | { type: "paste"; text: string };

const PASTE_END = "\x1b[201~";

const CSI_LETTER: Record<string, string> = {
  A: "Up",
  B: "Down",
  C: "Right",
  D: "Left",
  H: "Home",
  F: "End",
  P: "F1",
  Q: "F2",
  R: "F3",
  S: "F4",
  Z: "S-Tab",
};

const CSI_TILDE: Record<string, string> = {
  "1": "Home",
  "2": "Insert",
  "3": "Delete",
  "4": "End",
  "5": "PageUp",
  "6": "PageDown",
  "7": "Home",
  "8": "End",
  "11": "F1",
  "12": "F2",
  "13": "F3",
  "14": "F4",
  "15": "F5",
  "17": "F6",
  "18": "F7",
  "19": "F8",
  "20": "F9",
  "21": "F10",
  "23": "F11",
  "24": "F12",
};

/** Name of a single (non-escape) character typed as a key, or null when it is printable text. */
function controlName(ch: string): string | null {
  const c = ch.charCodeAt(0);
  if (c === 0x0d || c === 0x0a) return "Enter";
  if (c === 0x09) return "Tab";
  if (c === 0x7f || c === 0x08) return "Backspace";
  if (c === 0) return "C-Space";
  if (c < 0x1b) return "C-" + String.fromCharCode(c + 0x60);
  if (c === 0x1b) return "Escape";
  if (c < 0x20) return "C-" + String.fromCharCode(c + 0x40);
  if (c >= 0x80 && c < 0xa0) return "";
  return null;
}

function modPrefix(param: string | undefined): string {
  const m = param ? parseInt(param, 10) - 1 : 0;
  if (!(m > 0)) return "";
  return (m & 4 ? "C-" : "") + (m & 2 ? "M-" : "") + (m & 1 ? "S-" : "");
}

export class KeyDecoder {
  #decoder = new TextDecoder("utf-8");
  #buf = "";
  #paste: string | null = null;

  /** Adds bytes read from the terminal; returns the completed events. */
  push(bytes: Uint8Array): KeyEvent[] {
    this.#buf += this.#decoder.decode(bytes, { stream: true });
    return this.#parse(false);
  }

  /** Adds already-decoded input (tests, tmux send-keys). */
  pushText(text: string): KeyEvent[] {
    this.#buf += text;
    return this.#parse(false);
  }

  /** Resolves a pending lone ESC (or an unfinished sequence) after an input pause. */
  flush(): KeyEvent[] {
    return this.#parse(true);
  }

  /** True when an incomplete sequence waits for more bytes. */
  get pending(): boolean {
    return this.#buf.length > 0;
  }

  #parse(final: boolean): KeyEvent[] {
    const out: KeyEvent[] = [];
    const s = this.#buf;
    let i = 0;
    const emitText = (t: string) => {
      const last = out[out.length - 1];
      if (last?.type === "text") last.text += t;
      else out.push({ type: "text", text: t });
    };
    while (i < s.length) {
      if (this.#paste !== null) {
        const end = s.indexOf(PASTE_END, i);
        if (end >= 0) {
          out.push({ type: "paste", text: this.#paste + s.slice(i, end) });
          this.#paste = null;
          i = end + PASTE_END.length;
          continue;
        }
        // Keep a tail that may be the start of the end marker.
        let keep = 0;
        for (let k = Math.min(PASTE_END.length - 1, s.length - i); k > 0; k--) {
          if (PASTE_END.startsWith(s.slice(s.length - k))) {
            keep = k;
            break;
          }
        }
        this.#paste += s.slice(i, s.length - keep);
        i = s.length - keep;
        break;
      }
      const ch = s[i];
      if (ch === "\x1b") {
        const n = this.#escape(s, i, final, out);
        if (n === 0) break; // incomplete: wait for more
        i += n;
        continue;
      }
      const cp = s.codePointAt(i)!;
      const one = String.fromCodePoint(cp);
      const name = controlName(one);
      if (name === null) emitText(one);
      else if (name === "Enter" && ch === "\n" && s[i - 1] === "\r") {
        // "\r\n" is one Enter.
      } else if (name !== "") out.push({ type: "key", key: name });
      i += one.length;
    }
    this.#buf = s.slice(i);
    return out;
  }

  /** Parses an escape sequence at `i`; returns the characters consumed, or 0 if incomplete. */
  #escape(s: string, i: number, final: boolean, out: KeyEvent[]): number {
    if (i + 1 >= s.length) {
      if (!final) return 0;
      out.push({ type: "key", key: "Escape" });
      return 1;
    }
    const next = s[i + 1];
    if (next === "[") {
      let j = i + 2;
      while (j < s.length && s.charCodeAt(j) >= 0x20 && s.charCodeAt(j) <= 0x3f) j++;
      if (j >= s.length) {
        if (!final) return 0;
        out.push({ type: "key", key: "M-[" });
        return 2;
      }
      const fc = s.charCodeAt(j);
      if (fc < 0x40 || fc > 0x7e) { // malformed: drop the introducer
        out.push({ type: "key", key: "Escape" });
        return 1;
      }
      const params = s.slice(i + 2, j);
      const fin = s[j];
      const parts = params.split(";");
      if (fin === "~") {
        if (params === "200") {
          this.#paste = "";
        } else {
          const base = CSI_TILDE[parts[0] ?? ""];
          if (base) out.push({ type: "key", key: modPrefix(parts[1]) + base });
        }
      } else if ((fin === "I" || fin === "O") && params === "") {
        out.push({ type: "key", key: fin === "I" ? "FocusIn" : "FocusOut" }); // focus reports (?1004h)
      } else if (fin !== undefined && CSI_LETTER[fin]) {
        const base = CSI_LETTER[fin]!;
        out.push({ type: "key", key: base === "S-Tab" ? base : modPrefix(parts[1]) + base });
      }
      return j - i + 1;
    }
    if (next === "O") {
      if (i + 2 >= s.length) {
        if (!final) return 0;
        out.push({ type: "key", key: "M-O" });
        return 2;
      }
      const base = CSI_LETTER[s[i + 2]!];
      if (base) out.push({ type: "key", key: base });
      return 3;
    }
    if (next === "\x1b") {
      out.push({ type: "key", key: "Escape" });
      return 1;
    }
    const cp = s.codePointAt(i + 1)!;
    const one = String.fromCodePoint(cp);
    const name = controlName(one);
    out.push({ type: "key", key: "M-" + (name ?? one) });
    return 1 + one.length;
  }
}
