/**
 * Switches a client to end-to-end encrypted bodies (`E2eCodec.attach`) with every control kind of
 * the features above e2e/ registered before anything is received: files (files/channel.ts) and
 * video stream keys (video/stream_key.ts). The one place that knows the whole list. Its waiters
 * (e2e/controls.ts) hear of other processes' commits through the folder's one watcher
 * (session/local_store.ts `nextForeign`).
 */
import { type E2eCodec, keystoreSide, type SealedChannel, watchFolder } from "../e2e/mod.ts";
import { attachFiles } from "../files/channel.ts";
import { attachStreamKeys } from "../video/stream_key.ts";

/** Registers every feature's control kinds on a sealed channel. */
export function registerControls(ch: SealedChannel): void {
  attachFiles(ch);
  attachStreamKeys(ch);
}

/** `E2eCodec.attach` with every control kind registered. */
export async function attachE2e(
  client: Parameters<typeof E2eCodec.attach>[0],
  password: string,
  o: Omit<NonNullable<Parameters<typeof E2eCodec.attach>[2]>, "controls"> = {},
): Promise<E2eCodec> {
  const { E2eCodec } = await keystoreSide();
  return await E2eCodec.attach(client, password, {
    ...o,
    controls: (ch) => {
      registerControls(ch);
      const store = client.store;
      if (store) watchFolder(ch, (l) => store.nextForeign(l));
    },
  });
}
