/**
 * `Bus` over NATS core pub/sub (npm `nats`): one subject per cluster, and one under it per node
 * (`SUBJECT.node.ID`: `publishTo`), every envelope sealed under the cluster key (seal.ts), own echoes
 * dropped; both heard through callbacks, in the order NATS delivers them (the seal refuses a sender's
 * envelope older than the last one opened). At most once by design: lost events are caught up
 * from the store. NATS itself may ask for a user and password (in the URL,
 * `nats://USER:PASS@HOST:PORT`), an nkey seed or a .creds file (JWT and nkey seed), and TLS (a CA to verify it, a
 * client certificate when it asks for one; `tls://` in the URL requires TLS). The only file that
 * speaks to NATS; the caller reads files and passes their text.
 */
import {
  connect,
  type ConnectionOptions,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
  type Subscription,
} from "nats";
import type { Bus, BusEvent } from "./bus.ts";
import { BusSeal, type SealOptions } from "./seal.ts";

export interface NatsBusOptions extends SealOptions {
  /** Separates clusters on one NATS (default "parley.cluster"). */
  subject?: string;
  /** Text of a NATS .creds file (JWT and nkey seed). */
  creds?: string;
  /** Text of a file holding a NATS user nkey seed (`SU…`), for servers that list users by nkey. */
  nkeySeed?: string;
  /** TLS to NATS: PEM texts. A CA (or a `tls://` URL) makes TLS required. */
  tls?: { ca?: string; cert?: string; key?: string };
}

/** The servers, user and password and whether TLS is required, from `nats://[USER:PASS@]HOST:PORT[,…]`. */
export function parseBusUrl(url: string): { servers: string[]; user?: string; pass?: string; tls: boolean } {
  const out: { servers: string[]; user?: string; pass?: string; tls: boolean } = { servers: [], tls: false };
  for (const raw of url.split(",").map((u) => u.trim()).filter(Boolean)) {
    const withScheme = /^[a-z]+:\/\//.test(raw) ? raw : `nats://${raw}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      throw new Error(`--bus takes nats://[USER:PASS@]HOST:PORT, got "${redactBusUrl(raw)}"`);
    }
    if (u.protocol !== "nats:" && u.protocol !== "tls:") {
      throw new Error(`--bus takes nats:// or tls:// addresses, got "${u.protocol}"`);
    }
    if (u.protocol === "tls:") out.tls = true;
    if (u.username) out.user = decodeURIComponent(u.username);
    if (u.password) out.pass = decodeURIComponent(u.password);
    out.servers.push(`${u.hostname}:${u.port || "4222"}`);
  }
  if (!out.servers.length) throw new Error("--bus needs at least one nats://HOST:PORT");
  return out;
}

/** The bus URL with any password replaced by "***" (for logs and errors). */
export function redactBusUrl(url: string): string {
  return url.replace(/\/\/([^:@/,]*):[^/,]*@/g, "//$1:***@");
}

/** A node's own subject under the cluster's (`publishTo`): the node id with anything but `[A-Za-z0-9_-]` as `_`. */
export function nodeSubject(subject: string, node: string): string {
  return `${subject}.node.${node.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

export class NatsBus implements Bus {
  #subs: Subscription[] = [];

  private constructor(
    readonly node: string,
    readonly nc: NatsConnection,
    readonly subject: string,
    readonly seal: BusSeal,
  ) {}

  /** Connects to `url` (nats://[USER:PASS@]HOST:PORT[,…] or tls://…) with the cluster key in `o`. */
  static async open(url: string, node: string, o: NatsBusOptions): Promise<NatsBus> {
    const subject = o.subject ?? "parley.cluster";
    const seal = new BusSeal(o, subject);
    const p = parseBusUrl(url);
    const opts: ConnectionOptions = {
      servers: p.servers,
      name: `parley-${node}`,
      maxReconnectAttempts: -1,
      timeout: 5000,
    };
    if (p.user !== undefined) opts.user = p.user;
    if (p.pass !== undefined) opts.pass = p.pass;
    if (o.creds && o.nkeySeed) throw new Error("pass --bus-creds or --bus-nkey, not both");
    if (o.creds) opts.authenticator = credsAuthenticator(new TextEncoder().encode(o.creds));
    if (o.nkeySeed) opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(o.nkeySeed.trim()));
    if (p.tls || o.tls) opts.tls = { ...(o.tls?.ca ? { ca: o.tls.ca } : {}), ...certOf(o.tls) };
    const nc = await connect(opts);
    return new NatsBus(node, nc, subject, seal);
  }

  publish(e: BusEvent): void {
    if (this.nc.isClosed()) return;
    this.nc.publish(this.subject, this.seal.seal(this.node, e));
  }

  publishTo(node: string, e: BusEvent): void {
    if (this.nc.isClosed()) return;
    this.nc.publish(nodeSubject(this.subject, node), this.seal.seal(this.node, e));
  }

  subscribe(fn: (from: string, e: BusEvent) => void): void {
    // Callbacks, not two loops: the two subjects' envelopes are opened in the order they came.
    const callback = (err: Error | null, m: { data: Uint8Array }) => {
      if (err) return;
      const env = this.seal.open(m.data);
      try {
        if (env) fn(env.from, env.e);
      } catch (bug) { // thrown on its own turn (as the loop it replaced did): never into the NATS reader
        queueMicrotask(() => {
          throw bug;
        });
      }
    };
    this.#subs = [
      this.nc.subscribe(this.subject, { callback }),
      this.nc.subscribe(nodeSubject(this.subject, this.node), { callback }),
    ];
  }

  /**
   * A round trip to NATS (a PING answered by a PONG); fails too while envelopes under another cluster
   * key arrive (seal.ts `foreignKey`: `/healthz` says this node is out of its cluster, issue 69 S3).
   */
  async ping(): Promise<void> {
    if (this.nc.isClosed()) throw new Error("the NATS connection is closed");
    await this.nc.flush();
    const foreign = this.seal.foreignKey();
    if (foreign) throw new Error(foreign);
  }

  /**
   * Drains (what was published goes out), for at most DRAIN_MS: with NATS gone a drain waits for a
   * reconnect that may never come, and a SIGTERM must still stop the node.
   */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    for (const s of this.#subs) s.unsubscribe();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((r) => timer = setTimeout(r, DRAIN_MS));
    await Promise.race([this.nc.drain().catch(() => {}), late]);
    clearTimeout(timer);
    if (!this.nc.isClosed()) await this.nc.close().catch(() => {});
    await this.nc.closed();
  }
}

/** Longest a closing bus waits for NATS to take what is queued, ms. */
const DRAIN_MS = 2000;

function certOf(t: NatsBusOptions["tls"]): { cert?: string; key?: string } {
  if (!t?.cert && !t?.key) return {};
  if (!t.cert || !t.key) {
    throw new Error("a NATS client certificate needs both --bus-tls-cert and --bus-tls-key");
  }
  return { cert: t.cert, key: t.key };
}
