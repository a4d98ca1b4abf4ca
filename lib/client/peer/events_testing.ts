/**
 * Test helper for peer mode: the next event of a node that `pred` accepts, or a rejection naming the
 * node after `ms`.
 */
import type { PeerEvent } from "./events.ts";
import type { PeerNode } from "./node.ts";

/** Resolves with the first event of `n` from now on that `pred` accepts; rejects after `ms`. */
export function nextEvent(n: PeerNode, pred: (e: PeerEvent) => boolean, ms = 20_000): Promise<PeerEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new Error(`${n.name}: timed out waiting`));
    }, ms);
    const off = n.on((e) => {
      if (!pred(e)) return;
      clearTimeout(t);
      off();
      resolve(e);
    });
  });
}
