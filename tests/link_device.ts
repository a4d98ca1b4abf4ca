/**
 * Tests' way to give a user a second (third…) device: a folder linked to the first as
 * start/device_link_flow.ts does (offer a code on the first, join with it from the new folder).
 */
import { joinLink, offerLink } from "../lib/client/start/device_link_flow.ts";
import type { TestServer } from "./helpers.ts";

type E2e = Awaited<ReturnType<TestServer["e2eClient"]>>;

/** A second (third…) folder of `first`'s user, linked to it as start/device_link_flow.ts does. */
export async function linkDevice(t: TestServer, first: E2e, home: string): Promise<E2e> {
  let code!: (c: string) => void;
  const shown = new Promise<string>((r) => code = r);
  const offer = offerLink(first.client, first.codec.cs, {
    device: first.codec.device,
    timeoutMs: 20_000,
    onCode: code,
  });
  let finish: ((device: number) => Promise<void>) | null = null;
  const next = await t.e2eClient(first.client.user, {
    register: false,
    home: `${t.dir}/${home}`,
    prepare: async (cs, c) => {
      finish = await joinLink(c, cs, await shown, { name: home, timeoutMs: 20_000 });
    },
  });
  await finish!(next.codec.device);
  await offer;
  return next;
}
