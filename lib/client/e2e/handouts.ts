/**
 * Carries out the sender-key handouts a seal answered (e2e/room_seal.ts): a seal never sends; its
 * caller does, with this (the core before a message, e2e/control_send.ts before a room control).
 * Each handout is a sealed DM sent, in order, before the message sealed under that key, so every
 * member holds the key before the first message under it; a `devices_changed`
 * refusal relearns and seals it once more (`sealAndSend`, the one home of that loop). Each outcome
 * goes back to the codec (`handedOut`): a sent one is recorded, a failed one is told as a notice
 * and kept for the room's next message; the message itself goes anyway, as before. A refusal for
 * speed is not a failure: the handout waits and goes (session/rate_wait.ts), before its message.
 */
import { type BodyCodec, type Handout, sealAndSend, type Sealed } from "./body_codec.ts";
import type { SealedSender } from "./parts.ts";
import { paced } from "../session/rate_wait.ts";

/** Sends `handouts` through `link` one after the other, reporting each to `codec`. */
export async function handOut(
  codec: BodyCodec,
  link: SealedSender,
  handouts: readonly Handout[] = [],
): Promise<void> {
  for (const h of handouts) {
    let first = true;
    const seal = (): Promise<Sealed> => {
      if (!first) return codec.resealHandout!(h);
      first = false;
      return Promise.resolve(h);
    };
    try {
      // Refused for speed (a burst of messages): asked again shortly, as the message after it needs it.
      const to = { kind: "user", name: h.to } as const;
      const r = await sealAndSend(
        seal,
        (s) => paced(() => link.send(to, h.mid, s.body, { devices: s.devices })),
        codec.devicesChanged?.bind(codec),
      );
      await codec.handedOut!(h, { seq: r.seq });
    } catch (error) {
      await codec.handedOut!(h, { error });
    }
  }
}
