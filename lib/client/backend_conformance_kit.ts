/**
 * What the `ChatBackend` conformance cases share (backend_conformance.ts, backend_conformance_caps.ts,
 * backend_conformance_groups.ts): the harness an implementation gives, and sending until stored.
 */
import type { BackendEvent, ChatBackend, ChatMessage, Target } from "./backend.ts";

export interface BackendHarness {
  /** Logged in as a user with role "user". */
  backend: ChatBackend;
  /** Another registered user (peer mode: a connected peer) the backend may message and put in rooms. */
  peer: string;
  /** Makes the peer send a direct message to the backend's user. */
  peerSends(text: string): Promise<void>;
  done(): Promise<void>;
}

/** Waits until `pick` answers something for an event of `b`, or fails after `ms`. */
export function waitForEvent<T>(
  b: ChatBackend,
  pick: (e: BackendEvent) => T | undefined,
  ms = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error(`no such event within ${ms} ms`))), ms);
    const off = b.on((e) => {
      const v = pick(e);
      if (v !== undefined) (clearTimeout(timer), off(), resolve(v));
    });
  });
}

/** Sends and answers the stored message: at once (seq > 0), or the event that follows a pending one. */
export async function sendStored(b: ChatBackend, to: Target, text: string): Promise<ChatMessage> {
  const early: ChatMessage[] = [];
  const off = b.on((e) => void (e.type === "message" && e.message.seq > 0 && early.push(e.message)));
  try {
    const m = await b.send(to, text);
    if (m.seq > 0) return m;
    const got = early.find((x) => x.mid === m.mid);
    if (got) return got;
    return await waitForEvent(
      b,
      (e) => e.type === "message" && e.message.mid === m.mid && e.message.seq > 0 ? e.message : undefined,
    );
  } finally {
    off();
  }
}
