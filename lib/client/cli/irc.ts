/**
 * `parley irc [--listen HOST:PORT] [--show-password]` (issue 72): the logged-in session as a local IRC
 * server (lib/client/irc/mod.ts) on 127.0.0.1:6667 by default, for irssi, WeeChat or a bot. An IRC
 * client presents the folder's IRC password (session/home_dir.ts `ircPassword`), which
 * `--show-password` prints. On an address other than loopback it serves TLS with a certificate kept in
 * the folder (`ircCertificate`). Prints "listening HOST:PORT" once it listens (and, with TLS, the
 * certificate's fingerprint to pin); runs until stopped.
 */
import type { Command } from "commander";
import type { CliIo } from "./io.ts";
import { commandFlags } from "./io.ts";
import { systemClock } from "../../common/clock.ts";

/** Registers `parley irc`. */
export function registerIrcCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program.command("irc").description("use any IRC client: a local IRC server on this session (stays online)")
    .option(
      "--listen <host:port>",
      "address to listen on (default 127.0.0.1:6667; any other than loopback with TLS)",
    )
    .option("--show-password", "print the IRC password of this client folder (made on first use) and exit")
    .addHelpText(
      "after",
      '\nExamples:\n  parley irc --user alice\n  parley irc --show-password\n  irssi -c 127.0.0.1 -p 6667 -w "$(parley irc --show-password)" -n alice',
    )
    .action(async (...a: unknown[]) => {
      const o = commandFlags(a[a.length - 1] as Command);
      // The session's, the IRC face's and the certificate's modules load only when `irc` runs.
      const [{ hostPort, resolveTarget }, { launchTui }, { ircCertificate, ircPassword }, irc, cert] =
        await Promise
          .all([
            import("../start/session_setup.ts"),
            import("../start/launch.ts"),
            import("../session/home_dir.ts"),
            import("../irc/mod.ts"),
            import("../../net/cert.ts"),
          ]);
      const { home } = resolveTarget(o, io.env);
      const password = await ircPassword(home);
      if (o.showPassword) return io.out(password);
      const { host, port } = hostPort(typeof o.listen === "string" ? o.listen : "127.0.0.1:6667", 0);
      const tls = irc.isLoopback(host)
        ? undefined
        : await ircCertificate(home, () => cert.makeSelfSignedCert([host]));
      const pin = tls ? ` (TLS, certificate ${await cert.fingerprintPem(tls.cert)})` : "";
      setCode(
        await launchTui(o, io.env, io.prompts, async (backend) => {
          const run = await irc.startIrc(backend, {
            host,
            port,
            password,
            clock: systemClock,
            log: io.err,
            ...(tls ? { tls } : {}),
          });
          io.out(`listening ${host}:${run.port}${pin}`);
          try {
            await (io.stopped?.() ?? new Promise<void>(() => {}));
          } finally {
            run.stop();
          }
        }),
      );
    });
}
