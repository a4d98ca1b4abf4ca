/**
 * What a file's name may be, pure: `safeFileName`, what a received name becomes on disk (no
 * separators, `..`, control or Windows-reserved names, at most 200 UTF-8 bytes); `nameProblem` (peer
 * mode refuses offered names that are paths or hold control characters); `withNumber` for " (1)" on clashes.
 */
import { utf8 } from "../../common/bytes.ts";
import { UNSAFE } from "../../common/sanitize.ts";

const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
const FORBIDDEN = /[<>:"|?*\\/]/g;
const MAX_NAME_BYTES = 200;

/** A received name made safe to create inside the download folder; never empty, never a path. */
export function safeFileName(raw: string): string {
  const wellFormed = raw.isWellFormed() ? raw : raw.toWellFormed();
  // The last path component only: "../../x" and "/etc/x" become "x".
  const parts = wellFormed.split(/[\\/]+/).filter((p) => p !== "");
  let s = [...(parts.pop() ?? "")].map((ch) => (UNSAFE.test(ch) ? "_" : ch)).join("");
  s = s.replace(FORBIDDEN, "_").replace(/^[\s.]+|[\s.]+$/g, "");
  if (RESERVED.test(s)) s = `_${s}`;
  if (utf8.encode(s).length > MAX_NAME_BYTES) {
    const dot = s.lastIndexOf(".");
    const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : "";
    let stem = "", room = MAX_NAME_BYTES - utf8.encode(ext).length;
    for (const ch of s.slice(0, s.length - ext.length)) {
      room -= utf8.encode(ch).length;
      if (room < 0) break;
      stem += ch;
    }
    s = stem + ext;
  }
  return s || "file";
}

/**
 * Why an offered name is not a plain file name — a path (separators, `.`, `..`), control or
 * bidi characters, nothing but blanks — or null. Peer mode refuses such offers (a sender names the
 * last component of its own file, made safe, so an honest one never sends them).
 */
export function nameProblem(raw: string): string | null {
  if (/[\\/]/.test(raw) || raw === "." || raw === "..") return "its name is a path, not a file name";
  if (UNSAFE.test(raw)) return "its name holds control characters";
  if (!raw.trim()) return "its name is blank";
  return null;
}

/** `name` with " (n)" before its extension. */
export function withNumber(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.lastIndexOf(".");
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}
