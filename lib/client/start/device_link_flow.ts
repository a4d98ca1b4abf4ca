/**
 * Linking a new device to an account (issue 9), over the server's link relay and the sealed
 * channel of crypto/device_link.ts:
 *
 *   old device (`device link`)            server               new device (`device add CODE`)
 *   link.open(channel), shows CODE   ─────────────────────   link.join(channel)
 *                                    ←── sealed {name, deviceKey} ────
 *   ──── sealed {identity, contacts, room logs, device lists, approval} ───→  imports them, makes
 *                                                   its own prekeys, keys.publish(device 0, approval)
 *                                    ←── sealed {device} ──  (the id the server gave it)
 *
 * The approval (issue 33) is the old device's signature, with its own device key, over the new
 * device's key, the account and an expiry: the server adds a device to an account that has some
 * only with one, so a folder that has the password and the identity key — a removed device — cannot
 * add itself back.
 *
 * The identity key moves, so contacts' safety numbers do not change; pinned contacts, verification
 * marks and the block list move with it. Nothing readable passes the server: it relays sealed bytes.
 * Deadlines and the approval's expiry are on the client's clock (`ChatClient.clock`).
 */
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { SqliteCryptoStore } from "../session/crypto_store.ts";
import {
  APPROVAL_TTL_MS,
  type LinkKeys,
  linkKeys,
  newLinkCode,
  openLink,
  parseLinkCode,
  sealLink,
  signApproval,
} from "../../crypto/device_link.ts";
import { deviceKeyOf } from "../e2e/mod.ts";
import type { RandomBytes } from "../../common/random.ts";

/** State that moves to a new device with the identity (and the block list, e2e/blocks.ts). */
const MOVED = ["contact:", "mlog:", "devices:", "blocked"];

interface Transfer {
  identity: unknown;
  state: Record<string, unknown>;
  /** The old device's approval of the new device's key (keys.publish's `approval`). */
  approval: { by: number; expires: number; sig: string };
}

/** Bodies pushed on one link channel, in order. */
function linkInbox(c: ChatClient, channel: string) {
  const queue: Uint8Array[] = [];
  let wake: (() => void) | null = null;
  const off = c.conn.onPush((f) => {
    if (f.header.t !== "link" || f.header.channel !== channel || f.header.event) return;
    queue.push(f.body);
    wake?.();
  });
  return {
    async next(deadline: number, what: string): Promise<Uint8Array> {
      while (!queue.length) {
        const left = deadline - c.clock.now();
        if (left <= 0 || c.conn.closed) throw new BackendError("timeout", what);
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(left, 1000));
          wake = () => (clearTimeout(t), r());
        });
        wake = null;
      }
      return queue.shift()!;
    },
    close: () => off(),
  };
}

async function send(c: ChatClient, k: LinkKeys, value: unknown, dir: "old→new" | "new→old"): Promise<void> {
  await c.conn.request("link.msg", { channel: k.channel }, await sealLink(k, dir, value));
}

/** On a device one has: shows a code (`onCode`), waits for the new device, hands it the account's keys. */
export async function offerLink(
  c: ChatClient,
  cs: SqliteCryptoStore,
  o: {
    timeoutMs: number;
    onCode: (code: string) => void;
    device: number;
    rand?: RandomBytes;
  },
): Promise<{ device: number; name: string }> {
  const code = newLinkCode(o.rand);
  const k = await linkKeys(parseLinkCode(code)!);
  const inbox = linkInbox(c, k.channel);
  const deadline = c.clock.now() + o.timeoutMs;
  const late = `No new device joined within ${Math.round(o.timeoutMs / 1000)} s`;
  try {
    await c.conn.request("link.open", { channel: k.channel });
    o.onCode(code);
    const hello = await openLink<{ name?: unknown; deviceKey?: unknown }>(
      k,
      "new→old",
      await inbox.next(deadline, late),
    );
    if (typeof hello.deviceKey !== "string") {
      throw new BackendError("link", "The new device sent no device key (it may need a newer Parley)");
    }
    const expires = c.clock.now() + APPROVAL_TTL_MS;
    const sig = await signApproval(await deviceKeyOf(cs), c.user, hello.deviceKey, expires);
    const state: Record<string, unknown> = {};
    for (const p of MOVED) for (const key of cs.keysWith(p)) state[key] = await cs.get(key);
    const approval = { by: o.device, expires, sig };
    await send(c, k, { identity: await cs.get("identity"), state, approval } satisfies Transfer, "old→new");
    const done = await openLink<{ device?: unknown }>(k, "new→old", await inbox.next(deadline, late));
    if (!Number.isInteger(done.device)) {
      throw new BackendError("link", "The new device did not say which it is");
    }
    return { device: done.device as number, name: typeof hello.name === "string" ? hello.name : "" };
  } finally {
    inbox.close();
  }
}

/**
 * On the new device, before its keys are published: joins the channel of `code` and imports the
 * account's keys into `cs` (marked as a device still to be numbered). Returns the last step: tell
 * the old device the number the server gave this one.
 */
export async function joinLink(
  c: ChatClient,
  cs: SqliteCryptoStore,
  code: string,
  o: { name: string; timeoutMs: number },
): Promise<(device: number) => Promise<void>> {
  if (await cs.get("identity")) {
    throw new BackendError(
      "has_keys",
      `This folder already has keys for ${c.user}: link a new folder (--home) instead`,
    );
  }
  const bytes = parseLinkCode(code);
  if (!bytes) throw new BackendError("usage", "That is not a link code (8 groups of 4 letters and digits)");
  const k = await linkKeys(bytes);
  const inbox = linkInbox(c, k.channel);
  try {
    await c.conn.request("link.join", { channel: k.channel });
    await send(c, k, { name: o.name, deviceKey: (await deviceKeyOf(cs)).pub }, "new→old");
    const got = await openLink<Transfer>(
      k,
      "old→new",
      await inbox.next(c.clock.now() + o.timeoutMs, "The other device did not answer"),
    );
    const id = got.identity as { dh?: unknown; sign?: unknown } | null;
    if (!id || typeof id !== "object" || !id.dh || !id.sign) {
      throw new BackendError("link", "The other device sent no identity key");
    }
    const state = Object.fromEntries(
      Object.entries(got.state ?? {}).filter(([key]) => MOVED.some((p) => key.startsWith(p))),
    );
    await cs.commit({
      put: {
        ...state,
        identity: got.identity,
        "e2e:device": 0,
        "e2e:published": false,
        "e2e:name": o.name,
        ...(got.approval ? { "e2e:approval": got.approval } : {}),
      },
      del: [],
    });
  } catch (e) {
    inbox.close();
    throw e;
  }
  return async (device) => {
    try {
      await send(c, k, { device }, "new→old");
    } finally {
      inbox.close();
    }
  };
}

/** Marks the folder to start over: a new identity replaces the account's, every device is removed. */
export async function prepareReset(cs: SqliteCryptoStore): Promise<void> {
  const keep = ["contact:", "mlog:"];
  const del = cs.keysWith("").filter((k) => !keep.some((p) => k.startsWith(p)));
  await cs.commit({ put: { "e2e:reset": true }, del: del.filter((k) => k !== "e2e:reset") });
}
