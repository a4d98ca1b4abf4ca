/**
 * `Bus` over NATS core pub/sub (npm `nats`): one subject per cluster, JSON envelopes tagged with the
 * sending node, own echoes dropped. At most once by design: lost events are caught up from the store.
 * The only file that speaks to NATS.
 */
import { connect, type NatsConnection, type Subscription } from "nats";
import type { Bus, BusEnvelope, BusEvent } from "./bus.ts";

export class NatsBus implements Bus {
  readonly #enc = new TextEncoder();
  readonly #dec = new TextDecoder();
  #sub: Subscription | null = null;

  private constructor(readonly node: string, readonly nc: NatsConnection, readonly subject: string) {}

  /** Connects to `url` (nats://HOST:PORT[,nats://…]); `subject` separates clusters on one NATS. */
  static async open(url: string, node: string, subject = "parley.cluster"): Promise<NatsBus> {
    const servers = url.split(",").map((u) => u.trim().replace(/^nats:\/\//, ""));
    const nc = await connect({ servers, name: `parley-${node}`, maxReconnectAttempts: -1, timeout: 5000 });
    return new NatsBus(node, nc, subject);
  }

  publish(e: BusEvent): void {
    if (this.nc.isClosed()) return;
    const env: BusEnvelope = { from: this.node, e };
    this.nc.publish(this.subject, this.#enc.encode(JSON.stringify(env)));
  }

  subscribe(fn: (from: string, e: BusEvent) => void): void {
    const sub = this.nc.subscribe(this.subject);
    this.#sub = sub;
    (async () => {
      for await (const m of sub) {
        let env: BusEnvelope;
        try {
          env = JSON.parse(this.#dec.decode(m.data));
        } catch {
          continue; // not ours
        }
        if (env.from !== this.node && env.e) fn(env.from, env.e);
      }
    })();
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    this.#sub?.unsubscribe();
    await this.nc.drain().catch(() => {});
    await this.nc.closed();
  }
}
