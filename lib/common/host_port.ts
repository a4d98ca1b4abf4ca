/**
 * The one parser of `HOST:PORT`, `[V6]:PORT` and a bare `HOST` (the client's --server, peer
 * addresses, the server's --metrics). Pure: callers decide the default port and the error.
 */

/** `{ host, port }` (port null when only a host is given), or null when `s` is not of that shape. */
export function splitHostPort(s: string): { host: string; port: number | null } | null {
  const m = s.match(/^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/) ?? s.match(/^()([^:]+)()$/);
  if (!m) return null;
  return { host: m[1] || m[2]!, port: m[3] ? Number(m[3]) : null };
}
