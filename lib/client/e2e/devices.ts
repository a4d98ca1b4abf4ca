/**
 * Linked devices on the encrypting client (issue 9): which devices each user has, and the DM body
 * that carries one ciphertext per device.
 *
 * - `DeviceLists`: device ids per user, from the server's `users` list (each user's at most once per
 *   connection), the `devices` pushes, `keys.fetch` replies and a `devices_changed` refusal of a
 *   send; kept in the crypto store so the next process starts from them. `targets(user)` is where a
 *   DM to `user` goes: every device of `user` and my other devices (never this one). A room's seal
 *   asks for its members' `current()` lists: read again once per connection (only theirs: `users`
 *   with `names`), since a device linked while this client was away was pushed to no one here, and
 *   no refusal would tell (a DM's `devices_changed` does).
 * - DM body v2: JSON `{"v":2,"d":<sender device>,"to":{"<address>":"<base64 envelope>"}}`, each
 *   envelope a v1 DM envelope (dm.ts) whose AD names the sender's and the recipient's device
 *   addresses, so a part cannot be moved to another device or claimed by another sender device.
 *   A v1 body (one envelope, device 1 to device 1) is still sent when that is all there is.
 */
import { fromBase64, toBase64, utf8, utf8Strict } from "../../common/bytes.ts";
import { deviceAddress } from "../../common/device_address.ts";
import type { CryptoStateStore } from "../../crypto/state_store.ts";
import type { Request } from "./keys.ts";
import { BackendError } from "../backend.ts";
import { USERS_NAMES_MAX } from "../../protocol/messages.ts";

export class DeviceLists {
  readonly #lists = new Map<string, number[]>();
  /** Every list was read from the server on this connection (its pushes keep them so since). */
  #current = false;
  /** The users whose lists were read on this connection (when not every one was). */
  readonly #read = new Set<string>();

  constructor(
    readonly request: Request,
    readonly cs: CryptoStateStore,
    readonly me: string,
    readonly device: number,
  ) {}

  get self(): string {
    return deviceAddress(this.me, this.device);
  }

  /** Device ids of `user` (at least device 1 until the server says otherwise). */
  async of(user: string): Promise<number[]> {
    let l = this.#lists.get(user) ?? (await this.cs.get(`devices:${user}`)) as number[] | undefined;
    if (!l && !this.#current && !this.#read.has(user)) {
      await this.refresh([user]);
      l = this.#lists.get(user);
    }
    return l && l.length ? l : [1];
  }

  async addresses(user: string): Promise<string[]> {
    return (await this.of(user)).map((d) => deviceAddress(user, d));
  }

  /** Reads the lists of `users` (every user's when not given) not read on this connection yet. */
  async current(users?: readonly string[]): Promise<void> {
    if (this.#current) return;
    if (!users) return await this.refresh();
    const missing = [...new Set(users)].filter((u) => !this.#read.has(u));
    if (missing.length) await this.refresh(missing);
  }

  /** A new connection: what was pushed while away was missed. */
  stale(): void {
    this.#current = false;
    this.#read.clear();
  }

  /** Reads the devices of `names` (of every user when not given) from the server's user list. */
  async refresh(names?: readonly string[]): Promise<void> {
    if (!names) this.#current = true;
    for (let i = 0; i < (names?.length ?? 1); i += USERS_NAMES_MAX) {
      const some = names?.slice(i, i + USERS_NAMES_MAX);
      const us = await this.request("users", some ? { names: some } : {}).then((r) => r.header.users, (e) => {
        // A server before 0.14 takes no `names`: then every user's, once for the connection.
        if (some && e instanceof BackendError && e.code === "invalid") return this.refresh().then(() => null);
        throw e;
      });
      if (us === null) return;
      for (const u of some ?? []) this.#read.add(u); // one the server does not list does not exist
      if (!Array.isArray(us)) continue;
      for (const u of us as { user?: unknown; devices?: unknown }[]) {
        if (typeof u?.user === "string" && Array.isArray(u.devices)) await this.set(u.user, u.devices);
      }
    }
  }

  /** Records `user`'s devices (kept when unchanged). */
  async set(user: string, devices: unknown[]): Promise<void> {
    const l = devices.filter((d): d is number => Number.isInteger(d) && (d as number) > 0).sort((a, b) =>
      a - b
    );
    const old = this.#lists.get(user) ?? (await this.cs.get(`devices:${user}`)) as number[] | undefined;
    this.#lists.set(user, l);
    if (!old || old.join() !== l.join()) await this.cs.commit({ put: { [`devices:${user}`]: l }, del: [] });
  }

  /** Applies the lists a `devices_changed` refusal carried. */
  async apply(detail: unknown): Promise<void> {
    if (!detail || typeof detail !== "object") return;
    for (const [user, l] of Object.entries(detail as Record<string, unknown>)) {
      if (Array.isArray(l)) await this.set(user, l);
    }
  }

  /** This is my only device, as far as this process already knows (memory only: no read, no lock). */
  get alone(): boolean {
    const l = this.#lists.get(this.me);
    return l !== undefined && l.every((d) => d === this.device);
  }

  /** Where a DM to `user` goes: every device of `user` and my other devices, never this one. */
  async targets(user: string): Promise<string[]> {
    const all = new Set([...await this.addresses(user), ...await this.addresses(this.me)]);
    all.delete(this.self);
    return [...all];
  }
}

export interface MultiBody {
  /** The sender's device. */
  d: number;
  /** Address → v1 envelope. */
  to: Record<string, Uint8Array>;
}

export function encodeMultiBody(senderDevice: number, parts: Map<string, Uint8Array>): Uint8Array {
  const to: Record<string, string> = {};
  for (const [a, b] of parts) to[a] = toBase64(b);
  return utf8.encode(JSON.stringify({ v: 2, d: senderDevice, to }));
}

/** The parts of a v2 body; null for a v1 envelope (it starts with byte 1, not "{"). */
export function decodeMultiBody(body: Uint8Array): MultiBody | null {
  if (body[0] !== 0x7b) return null;
  let j: { v?: unknown; d?: unknown; to?: unknown };
  try {
    j = JSON.parse(utf8Strict.decode(body));
  } catch {
    throw new SyntaxError("The message body is not a Parley DM");
  }
  if (j.v !== 2 || !Number.isInteger(j.d) || (j.d as number) < 1 || !j.to || typeof j.to !== "object") {
    throw new SyntaxError("Unknown DM body version");
  }
  const to: Record<string, Uint8Array> = {};
  for (const [a, b] of Object.entries(j.to as Record<string, unknown>)) {
    if (typeof b !== "string") throw new SyntaxError("A DM part is not base64");
    try {
      to[a] = fromBase64(b);
    } catch {
      throw new SyntaxError("A DM part is not base64");
    }
  }
  return { d: j.d as number, to };
}
