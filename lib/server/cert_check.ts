/**
 * One certificate for every node of a cluster (README: Running several nodes). A client pins the
 * fingerprint it first trusted for its whole server list, and a load balancer in front of the nodes
 * shows each client whichever node it picks: a node whose certificate differs from the others' is
 * refused by every client that switches to it. So each node says its certificate's fingerprint on
 * the bus (`cert`: at start, and once in answer to a node it had not heard) and a node that hears a
 * different one logs `cluster.cert` naming both nodes, both fingerprints and the fix. No I/O besides
 * the bus and the log.
 */
import type { Logger } from "../common/logger.ts";
import type { Bus, BusEvent } from "./bus/bus.ts";

type CertEvent = Extract<BusEvent, { t: "cert" }>;

export class CertCheck {
  /** Other nodes heard, and the fingerprint each said. */
  readonly nodes = new Map<string, string>();

  /** `fingerprint`: of the certificate this node presents to clients. */
  constructor(readonly bus: Bus, readonly log: Logger, readonly fingerprint: string) {}

  start(): void {
    this.bus.publish({ t: "cert", fingerprint: this.fingerprint });
  }

  /** A `cert` event from node `from`. */
  on(from: string, e: CertEvent): void {
    const known = this.nodes.get(from);
    this.nodes.set(from, e.fingerprint);
    if (known === undefined) this.bus.publish({ t: "cert", fingerprint: this.fingerprint });
    if (e.fingerprint === this.fingerprint || known === e.fingerprint) return;
    this.log.warn("cluster.cert", {
      node: this.bus.node,
      fingerprint: this.fingerprint,
      other: from,
      otherFingerprint: e.fingerprint,
      problem: `node ${from} presents another certificate than this node: clients that list both nodes ` +
        "refuse to switch between them, and behind a load balancer users see a changed certificate; " +
        "start every node with the same --tls-cert and --tls-key (copy the first node's cert.pem and key.pem)",
    });
  }
}
