/**
 * Scripted commands for linked devices (fixed contract, issue 9):
 * - `device link [--timeout S]` prints `code: CODE` (and its QR on standard error when that is a
 *   terminal wide enough), waits until the new device has joined (exit 0,
 *   then `linked device N (NAME)`) or the timeout passes (exit 1);
 * - `device add CODE [--name NAME]` on a new folder: receives the account's identity over the
 *   sealed link channel and publishes this device's own prekeys; exits 0 once linked;
 * - `device list [--json]`, `device remove ID` (its sessions end, it gets no more messages);
 * - `keys reset`: this folder makes a new identity that replaces the account's; every device is
 *   removed and contacts see KEY CHANGED.
 */
import type { Command } from "commander";
import { safeJson } from "../../common/sanitize.ts";
import { BackendError } from "../backend.ts";
import type { CliIo, WithClient } from "./io.ts";
import type { E2eCodec } from "../e2e/mod.ts";
// The link flow loads when a device command runs (cli/main.ts: no family loads its work eagerly).
const linkFlow = () => import("../start/device_link_flow.ts");
import { isoSeconds } from "../../common/parse_time.ts";

function seconds(raw: unknown, flag: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 86400) {
    throw new BackendError("usage", `${flag}: give seconds (1–86400)`);
  }
  return n;
}

function codecOf(c: { codec: unknown }): E2eCodec {
  const codec = c.codec as Partial<E2eCodec>;
  if (!codec.cs || codec.device === undefined) {
    throw new BackendError("no_keys", "End-to-end keys are not set up in this client folder");
  }
  return codec as E2eCodec;
}

/** Registers `device link|add|list|remove` and `keys reset` on the program, in this order. */
export function registerDeviceCommands(program: Command, io: CliIo, withClient: WithClient): void {
  const device = program.command("device").description("linked devices: link, add, list, remove")
    .addHelpText(
      "after",
      "\nExamples:\n  parley device link\n  parley device add ABCD-EFGH-…\n  parley device list",
    );

  device.command("link").description("show a one-time code for a new device and wait until it joins")
    .option("--timeout <seconds>", "how long to wait for the new device", "300")
    .addHelpText("after", "\nExamples:\n  parley device link\n  parley device link --timeout 60")
    .action(withClient(async (c, o) => {
      const codec = codecOf(c);
      // The QR module is loaded only here (it costs every other command ~20 ms of startup).
      const { qrLines } = await import("../session/qr.ts");
      const r = await (await linkFlow()).offerLink(c, codec.cs, {
        device: codec.device,
        timeoutMs: seconds(o.timeout, "--timeout") * 1000,
        onCode: (code) => {
          io.out(`code: ${code}`);
          // For a phone or a camera: the same code as a QR, when standard error is a wide enough terminal.
          const qr = io.errTerminal ? qrLines(code, io.errTerminal.columns) : null;
          for (const l of qr ?? []) io.err(l);
        },
      });
      io.out(`linked device ${r.device}${r.name ? ` (${r.name})` : ""}`);
    }));

  let finish: ((device: number) => Promise<void>) | null = null;
  device.command("add").argument("<code>").description("link this new folder to your account with a code")
    .option("--name <name>", "a name for this device (shown in device list)")
    .option("--timeout <seconds>", "how long to wait for the other device", "60")
    .addHelpText(
      "after",
      "\nExamples:\n  parley --home ~/.parley-laptop device add ABCD-EFGH-JKLM-NPQR-STUV-WXYZ-2345-6789",
    )
    .action(withClient(
      async (c) => {
        const n = codecOf(c).device;
        await finish?.(n);
        io.out(`linked: this folder is device ${n} of ${c.user}`);
      },
      false,
      async (cs, c, o, args) => {
        const name = typeof o.name === "string" ? o.name.slice(0, 64) : "";
        finish = await (await linkFlow()).joinLink(c, cs, args[0] ?? "", {
          name,
          timeoutMs: seconds(o.timeout, "--timeout") * 1000,
        });
      },
    ));
  registerListRemove(device, io, withClient);
  registerKeysReset(program, io, withClient);
}

/** `device list [--json]`, `device remove ID`. */
function registerListRemove(device: Command, io: CliIo, withClient: WithClient): void {
  device.command("list").description("your account's devices").option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  parley device list\n  parley device list --json")
    .action(withClient(async (c, o) => {
      const list = (await c.conn.request("device.list")).header.devices as {
        device: number;
        name: string;
        created: number;
        current: boolean;
      }[];
      if (o.json) return io.out(safeJson(list));
      for (const d of list) {
        io.out(
          `${String(d.device).padEnd(4)} ${(d.name || "-").padEnd(20)} added ${isoSeconds(d.created)}${
            d.current ? "  (this device)" : ""
          }`,
        );
      }
    }));

  device.command("remove").argument("<id>").description(
    "remove a device: its sessions end, it gets no more messages",
  )
    .addHelpText("after", "\nExamples:\n  parley device remove 2")
    .action(withClient(async (c, _o, a) => {
      const id = Number(a[0]);
      if (!Number.isInteger(id) || id < 1) {
        throw new BackendError("usage", `"${a[0]}" is not a device number`);
      }
      await c.conn.request("device.remove", { device: id });
      io.out(`Removed device ${id}`);
    }));
}

/** `keys reset`. */
function registerKeysReset(program: Command, io: CliIo, withClient: WithClient): void {
  const keys = program.command("keys").description("this folder's encryption keys")
    .addHelpText("after", "\nExamples:\n  parley --home ~/.parley-new keys reset");
  keys.command("reset").description(
    "start over: a new identity key replaces your account's; other devices are removed, contacts see KEY CHANGED",
  )
    .addHelpText("after", "\nExamples:\n  parley --home ~/.parley-new keys reset")
    .action(withClient(
      (c) =>
        io.out(
          `New keys for ${c.user}: this folder is device ${codecOf(c).device}; other devices were removed`,
        ),
      false,
      async (cs) => (await linkFlow()).prepareReset(cs),
    ));
}
