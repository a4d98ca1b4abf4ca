/**
 * The scripted account commands (fixed contract, registered on the `parley` program by cli/main.ts,
 * in this order): `register [--invite CODE]`, `login [--remember]`, `logout [--all]`, `passwd`.
 * Results go to `out`, errors to `err` as one sentence (through the program's handling in main.ts).
 */
import type { Command } from "commander";
import type { ChatClient } from "../core/chat_client.ts";
import { type CliIo, commandFlags, scriptedSession, type WithClient } from "./io.ts";

/** Registers `register`, `login`, `logout` and `passwd` on the program. */
export function registerAccountCommands(program: Command, io: CliIo, withClient: WithClient): void {
  program.command("register").description("create an account")
    .option("--invite <code>", "an admin's one-time invitation code (servers that register by invitation)")
    .addHelpText(
      "after",
      "\nExamples:\n  PARLEY_PASSWORD=… parley register --user alice --trust-on-first-use\n  parley register --server chat.example.org:9797 --user alice --fingerprint SHA256:AB:CD:…\n  parley register --user carol --invite 7k2qd-…",
    )
    .action(withClient((c) => io.out(`Registered ${c.user} on ${c.server}`), true));
  program.command("login").description("check credentials (exit 0 when they work)")
    .option(
      "--remember",
      "keep a resume token in the client folder: commands that need no keys (videos, play) then log in without the password",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  PARLEY_PASSWORD=… parley login --user alice\n  parley login --user alice --password-file ~/.parley-pw && echo ok\n  parley login --user alice --remember",
    )
    .action(async (...a: unknown[]) => {
      const said = (c: ChatClient) =>
        io.out(`Logged in as ${c.user}${c.role === "admin" ? " (admin)" : ""} on ${c.server}`);
      const o = commandFlags(a[a.length - 1] as Command);
      if (!o.remember) return await withClient(said)(...a);
      // Remembering is about the server, not the keys: no keystore is opened or made in this folder.
      await scriptedSession(io, o, { keepHistory: false, remember: true }, (c) => {
        said(c);
        io.err("parley: this login is remembered on this machine; parley logout forgets it");
      });
    });
  program.command("logout").description("revoke and forget the login remembered on this machine")
    .option("--all", "revoke every remembered login of the account, on every machine")
    .addHelpText("after", "\nExamples:\n  parley logout --user alice\n  parley logout --user alice --all")
    .action(async (...a: unknown[]) => {
      const o = commandFlags(a[a.length - 1] as Command);
      const { logoutRemembered } = await import("../start/session_setup.ts");
      io.out(await logoutRemembered(o, io.env, io.prompts, o.all === true, (t) => io.err(`parley: ${t}`)));
    });

  program.command("passwd").description(
    "change the account's password: every other login ends, every remembered login is revoked",
  )
    .addHelpText(
      "after",
      "\nThe new password comes from PARLEY_NEW_PASSWORD or a prompt. Run it again in each of your\n" +
        "other folders (old and new password) to seal their keys under the new one.\n" +
        "\nExamples:\n  parley passwd --user alice\n  PARLEY_PASSWORD=… PARLEY_NEW_PASSWORD=… parley passwd --user alice",
    )
    .action(async (...a: unknown[]) => {
      const { passwdCommand } = await import("../start/account_passwd.ts");
      io.out(await passwdCommand(commandFlags(a[a.length - 1] as Command), io.env, io.prompts, io.connect));
    });
}
