/**
 * Which IP addresses are on this machine or its local network — pure. The one home of that rule:
 * a client uses it to pick what costs less CPU at the price of bandwidth (raw video frames) when
 * the server is reached over loopback or a private network, where bandwidth is plentiful.
 * Loopback (127/8, ::1), RFC 1918 (10/8, 172.16/12, 192.168/16), IPv4 link-local (169.254/16),
 * IPv6 unique-local (fc00::/7) and link-local (fe80::/10), and IPv4-mapped forms of those. Names
 * are not resolved here: anything that is not an address literal is not local.
 */

/** True for a loopback, private-network or link-local IP address literal. */
export function isLocalAddress(host: string): boolean {
  const h = host.trim().replace(/^\[|\]$/g, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(mapped ? mapped[1]! : h);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (v4.slice(1).some((x) => Number(x) > 255)) return false;
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
      (a === 169 && b === 254);
  }
  if (!/^[0-9a-f:]+(%[\w.-]+)?$/.test(h) || !h.includes(":")) return false;
  const addr = h.replace(/%.*$/, "");
  if (/^(0{0,4}:){2,7}0{0,3}1$/.test(addr) || addr === "::1") return true; // loopback
  const first = addr.startsWith("::") ? 0 : parseInt(addr.split(":")[0]!, 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
}
