/**
 * The Parley version: one source of truth read by server.ts, client.ts and tools/compile.ts
 * (which names release files with it). Keep deno.json's "version" equal (tests/help_test.ts checks it).
 * The server says it in its hello reply; `versionNotice` is what a client says when the server's
 * major.minor differs from its own (nothing when they are equal).
 */
export const VERSION = "0.30.0";

/** "0.2" of "0.2.0" (or of "0.2.0-rc.1"); null when `v` is not a version. */
function majorMinor(v: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(v);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/**
 * One sentence when this client (`mine`) and the server (`theirs`, from its hello; not a string: a
 * server before 0.2.0, which did not say) differ in major.minor; null when they match.
 */
export function versionNotice(mine: string, theirs: unknown): string | null {
  const a = majorMinor(mine);
  if (!a) return null;
  if (typeof theirs !== "string") {
    return `The server runs an older Parley (before 0.2.0) than this client (${mine}): ask its operator to upgrade`;
  }
  const b = majorMinor(theirs);
  const shown = theirs.replace(/[^0-9A-Za-z.+-]/g, "").slice(0, 32);
  if (!b) return `The server says it runs Parley "${shown}", which this client (${mine}) does not understand`;
  const cmp = b[0] - a[0] || b[1] - a[1];
  if (cmp === 0) return null;
  return cmp > 0
    ? `The server runs Parley ${shown}, newer than this client (${mine}): upgrade the client`
    : `The server runs Parley ${shown}, older than this client (${mine}): some features may not work; ask its operator to upgrade`;
}
