/**
 * Name rules for users and rooms. Names are normalised with NFKC and lower-cased, then must match
 * `NAME_RE`: ASCII letters, digits, `_`, `-` and `.`, 1–32 characters, starting with a letter or
 * digit. Restricting to ASCII after NFKC makes look-alike names (full-width, Cyrillic) collide or
 * fail instead of impersonating someone.
 */

export const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

/** Returns the canonical form of a user or room name, or null if it is not acceptable. */
export function normalizeName(raw: string): string | null {
  if (typeof raw !== "string" || raw.length > 128) return null;
  // Already canonical (the usual case, e.g. every DM's `to`): NFKC and lower case leave it as it is.
  if (NAME_RE.test(raw)) return raw;
  const n = withoutHash(raw.normalize("NFKC").toLowerCase());
  return NAME_RE.test(n) ? n : null;
}

/** A room name as typed (`#dev` or `dev`) without its one leading `#`; nothing else is checked or changed. */
export function withoutHash(s: string): string {
  return s.startsWith("#") ? s.slice(1) : s;
}

/**
 * DM keys already made, by one name then the other: a server makes one for every DM it stores, and a
 * key made anew is also hashed anew by every map it is looked up in (~80 ns a DM more than one kept,
 * this VM). Forgotten all at once past DM_KEYS pairs.
 */
const dmKeys = new Map<string, Map<string, string>>();
let dmKeyCount = 0;
const DM_KEYS = 65_536;

/** Conversation key: one string per conversation, the same for both sides of a DM. */
export function convKey(kind: "user" | "room" | "broadcast", a: string, b?: string): string {
  if (kind === "broadcast") return "b";
  if (kind === "room") return `r:${a}`;
  const c = b ?? "";
  let of = dmKeys.get(a), k = of?.get(c);
  if (k !== undefined) return k;
  k = a < c ? `d:${a}:${c}` : `d:${c}:${a}`;
  if (dmKeyCount >= DM_KEYS) dmKeys.clear(), dmKeyCount = 0, of = undefined;
  if (!of) dmKeys.set(a, of = new Map());
  of.set(c, k);
  dmKeyCount++;
  return k;
}
