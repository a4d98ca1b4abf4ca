/**
 * The lines of `/info` for the conversation core (chat_client.ts): server, user, device, connection
 * state, encryption, outbox, acknowledgements still to send, versions. Pure.
 */
import { VERSION } from "../../common/version.ts";
import { PROTOCOL_VERSION } from "../../protocol/messages.ts";
import type { Role } from "../backend.ts";
import type { Outbox } from "./outbox.ts";

/** What the lines read of the core. */
export interface InfoSource {
  readonly server: string;
  readonly user: string;
  readonly role: Role;
  readonly codec: unknown;
  readonly outgoing: Outbox | null;
}

/** `/info`'s lines: `state` is online, reconnecting or offline; `unacked` the messages shown, not yet acknowledged. */
export function infoLines(c: InfoSource, state: string, unacked: number): [string, string][] {
  const codec = c.codec as { device?: number; encrypted: boolean };
  const failed = c.outgoing?.failedCount() ?? 0;
  return [
    ["server", c.server],
    ["user", `${c.user}${c.role === "admin" ? " (admin)" : ""}`],
    ["device", codec.device !== undefined ? String(codec.device) : "- (no end-to-end keys)"],
    ["connection", state],
    ["encryption", codec.encrypted ? "end to end" : "off"],
    [
      "outbox",
      `${c.outgoing?.count() ?? 0} waiting to be sent${failed ? `, ${failed} failed (/outbox)` : ""}`,
    ],
    ["to acknowledge", `${unacked} shown, not yet acknowledged`],
    ["versions", `parley ${VERSION}, protocol ${PROTOCOL_VERSION}`],
  ];
}
