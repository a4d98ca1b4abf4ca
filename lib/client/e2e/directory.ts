/**
 * `E2eDirectory`: what the server's directory says about users, as `E2eCodec` needs it (room
 * members are decided by the signed membership log, e2e/room_log.ts): every registered user, prekey
 * bundles from `keys.fetch` (refused unless validly signed; kept until a session exists), pinning a user's identity key on first use (a different key later is recorded as
 * pending, beside any key already waiting: pending_keys.ts), and checking a signed room membership change against the acting member's pinned
 * identity key. It holds no lock: `E2eCodec` calls it under its own.
 */
import type { DmManager } from "../../crypto/dm.ts";
import { addPendingKey } from "../../crypto/pending_keys.ts";
import { type SignedMembershipChange, verifyMembershipChange } from "../../crypto/membership.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import { verifyBundle } from "../../crypto/prekey_verify.ts";
import { BackendError } from "../backend.ts";
import { deviceAddress } from "../../common/device_address.ts";
import type { LogVerb, MembershipVerb } from "./body_codec.ts";
import type { SqliteCryptoStore } from "../session/crypto_store.ts";
import type { Request } from "./keys.ts";

/** The membership verb of a room push's `change`. */
export const MEMBERSHIP_VERBS: Record<string, MembershipVerb> = {
  created: "create",
  joined: "join",
  left: "leave",
  kicked: "kick",
};

/** A notice for the user about a room membership change. */
export interface ChangeNotice {
  level: "info" | "warn" | "error";
  text: string;
}

export class E2eDirectory {
  /** Bundles fetched for users without a session yet. */
  readonly bundles = new Map<string, PrekeyBundle>();

  constructor(readonly request: Request, readonly dm: DmManager, readonly cs: SqliteCryptoStore) {}

  async everyone(): Promise<string[]> {
    return ((await this.request("users")).header.users as { user: string }[]).map((u) => u.user);
  }

  /** The bundle of one device of `user` (device 1 unless given), kept by its device address. */
  async fetchBundle(user: string, device?: number): Promise<PrekeyBundle> {
    const h = (await this.request("keys.fetch", { user, ...(device ? { device } : {}) })).header;
    const list = Array.isArray(h.bundles) ? h.bundles as (PrekeyBundle & { device?: number })[] : [];
    const found = list.find((x) => x.device === (device ?? x.device)) ?? h.bundle;
    const { device: d, ...b } = (found ?? {}) as PrekeyBundle & { device?: number };
    if (!found || !(await verifyBundle(b as PrekeyBundle))) {
      throw new BackendError("bad_bundle", `The keys the server gave for ${user} are not validly signed`);
    }
    this.bundles.set(deviceAddress(user, d ?? device ?? 1), b as PrekeyBundle);
    return b as PrekeyBundle;
  }

  /** Pins `user`'s directory key on first use; a different key is recorded as pending (blocks sending). */
  async pin(user: string, recheck = false): Promise<void> {
    const c = await this.dm.contact(user);
    if (c && !recheck) return;
    const b = await this.fetchBundle(user);
    if (!c) {
      await this.cs.commit({
        put: { [`contact:${user}`]: { identity: b.identity, verified: false } },
        del: [],
      });
    } else {
      const next = addPendingKey(c, b.identity); // never replaces a key already waiting
      if (next !== c) await this.cs.commit({ put: { [`contact:${user}`]: next }, del: [] });
    }
  }

  async signKeyOf(user: string): Promise<string> {
    await this.pin(user);
    return (await this.dm.contact(user))!.identity.sign;
  }

  /**
   * What to tell the user about a membership change by `by` in push `h`, its signature checked;
   * `inLog`: the change is the latest entry of the room's verified membership log (else it is a
   * change the log does not hold, e.g. one the server invented or replayed, and is flagged).
   */
  async describeChange(
    h: Record<string, unknown>,
    room: string,
    verb: LogVerb,
    by: string,
    user: string,
    inLog: boolean,
  ): Promise<ChangeNotice> {
    if (verb === "enter" || verb === "open" || verb === "close") return openRoomChange(room, verb, by, inLog);
    const members = (h.members as string[]) ?? [];
    const admins = (h.admins as string[]) ?? [];
    const what = verb === "create"
      ? `${by} created #${room} with ${members.join(", ")}`
      : verb === "join"
      ? `${by} added ${user} to #${room}`
      : verb === "leave"
      ? `${by} left #${room}`
      : `${by} removed ${user} from #${room}`;
    if (!inLog) return { level: "warn", text: `${what} (not in #${room}'s signed membership log: ignored)` };
    const s = h.signed as SignedMembershipChange | undefined;
    if (!s || typeof s !== "object" || !s.change) {
      return { level: "warn", text: `${what} (not signed: this change may not come from ${by})` };
    }
    const c = s.change;
    const target = verb === "create" ? [...members].sort().join(",") : user;
    let ok = c.room === room && c.action === verb && c.by === by && c.target === target &&
      (verb === "leave" || admins.includes(by));
    if (ok) ok = await verifyMembershipChange(s, [await this.signKeyOf(by)]);
    if (ok) return { level: "info", text: `${what} (signed by ${by}, verified)` };
    return { level: "error", text: `${what}, but its signature does not match ${by}'s identity key` };
  }
}

/**
 * An open room's change (issue 71.12): a self-join, an open, a close. Its only record is the signed
 * log entry (no 0.1 signed change): shown as checked when it is the latest entry of the verified log.
 */
function openRoomChange(
  room: string,
  verb: "enter" | "open" | "close",
  by: string,
  inLog: boolean,
): ChangeNotice {
  const what = verb === "enter"
    ? `${by} joined #${room} by themself (an open room)`
    : verb === "open"
    ? `${by} opened #${room}: anyone on the server may join it`
    : `${by} closed #${room}: nobody joins by themself any more`;
  if (!inLog) return { level: "warn", text: `${what} (not in #${room}'s signed membership log: ignored)` };
  return { level: "info", text: `${what} (signed by ${by}, verified)` };
}
