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

/**
 * The network an address ("host", no port) belongs to: its /24 (IPv4, mapped too) or /64 (IPv6). The
 * one rule of "one source" for the peer listener's handshake cap (net/peer_net.ts) and the server's
 * lockouts per source (server/accounts.ts).
 */
export function networkOf(host: string): string {
  const h = host.replace(/^\[|\]$/g, "").replace(/%.*$/, "").toLowerCase();
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.\d+$/.exec(h);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (!h.includes(":")) return h;
  const [head = "", tail = ""] = h.split("::");
  const left = head ? head.split(":") : [];
  const right = h.includes("::") ? (tail ? tail.split(":") : []) : [];
  const groups = h.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups.slice(0, 4).map((g) => parseInt(g || "0", 16).toString(16)).join(":")}::/64`;
}
