/**
 * Child process of fd_limit_test.ts (run under a small `ulimit -n`): the server's TLS listener
 * (every connection admitted, a long handshake deadline) and a peer listener (caps out of the way),
 * so a flood of raw connections runs the process out of descriptors. Prints "ports TLS PEER" and
 * each listener's accept errors, then serves until killed. Args: CERT_FILE KEY_FILE.
 */
import { listenTlsServer } from "../lib/net/tls_server.ts";
import { listenPeer } from "../lib/net/peer_net.ts";
import { generateIdentity } from "../lib/crypto/identity.ts";

const [certFile, keyFile] = Deno.args;
const tlsSrv = await listenTlsServer({
  host: "127.0.0.1",
  port: 0,
  cert: await Deno.readTextFile(certFile!),
  key: await Deno.readTextFile(keyFile!),
  handshakeMs: 60_000,
  admit: () => "accept",
  onConn: (c) => {
    c.write(new TextEncoder().encode("hi")).catch(() => {}).finally(() => c.close());
  },
  onRefused: (c) => c.close(),
  onError: (what, e) => console.error(`tls ${what}: ${e}`),
});
const peer = listenPeer({
  hostname: "127.0.0.1",
  port: 0,
  identity: await generateIdentity(),
  name: "listener",
  handshakeMs: 60_000,
  perAddress: 10_000,
  maxConns: 10_000,
  handshakesPerNetwork: 10_000,
  acceptPerSec: 10_000,
  acceptBurst: 10_000,
}, () => {});
console.log(`ports ${tlsSrv.port} ${peer.port}`);
