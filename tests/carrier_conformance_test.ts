/**
 * The carrier conformance suite (carrier_conformance.ts) on every carrier of a file's
 * chunks: the direct socket (files/direct.ts `socketCarrier`: bulk frames on a FILE_PURPOSE channel,
 * the receiver counting chunks) and the peer-mode channel (files/carried_out.ts `channelCarrier`: `fdata`
 * records and their bulk frames on a peer link, read back as peer/wire.ts decodes them), both over
 * real sockets of lib/net/peer_net.ts on the loopback, and the relay (files/upload.ts `relayCarrier`:
 * `file.put` bodies, a window of them in flight) on a fake of the server's `file.put` port
 * (relay_fake.ts, answering as lib/server/handlers_files.ts does; the receiving side, receive.ts,
 * reads bodies back by `file.get`, so here the bodies taken are read back as they were appended).
 */
import { concatBytes } from "../lib/common/bytes.ts";
import { systemClock } from "../lib/common/clock.ts";
import { generateIdentity } from "../lib/crypto/identity.ts";
import { dialPeer, listenPeer, PEER_PURPOSE, type PeerChannel } from "../lib/net/peer_net.ts";
import { carrierConformance, type CarrierWorld } from "./carrier_conformance.ts";
import { DIRECT_BATCH, FILE_PURPOSE, socketCarrier } from "../lib/client/files/direct.ts";
import { channelCarrier } from "../lib/client/files/carried_out.ts";
import { chunkAt, relayCarrier } from "../lib/client/files/upload.ts";
import { chunkOffset, cipherSize, RELAY_BATCH } from "../lib/client/files/layout.ts";
import { FILE_HEADER_LEN } from "../lib/crypto/age_stream.ts";
import { FakeRelay } from "./relay_fake.ts";
import { openChannel } from "../lib/client/peer/channel.ts";
import { decodePeerRecord } from "../lib/client/peer/wire.ts";
import { joinFileData } from "../lib/client/files/carried_wire.ts";
import { PEER_BATCH } from "../lib/client/files/carried_common.ts";

/** Two ends of one authenticated channel for `purpose` on the loopback. */
async function channelPair(purpose: string) {
  const [a, b] = await Promise.all([generateIdentity(), generateIdentity()]);
  const got = Promise.withResolvers<PeerChannel>();
  const ln = listenPeer(
    { hostname: "127.0.0.1", port: 0, identity: b, name: "b", purposes: [purpose], recordsPerSec: 0 },
    (c) => got.resolve(c),
  );
  const out = await dialPeer("127.0.0.1", ln.port, { identity: a, name: "a", purpose, recordsPerSec: 0 });
  const inn = await got.promise;
  return {
    out,
    inn,
    cut: () => (out.close(), inn.close()),
    close: async () => (out.close(), inn.close(), await ln.close()),
  };
}

carrierConformance("direct socket", DIRECT_BATCH, async (): Promise<CarrierWorld> => {
  const p = await channelPair(FILE_PURPOSE);
  return {
    carrier: socketCarrier(p.out),
    next: async () => {
      const data = await p.inn.recvBulk();
      return data && { data };
    },
    cut: p.cut,
    close: p.close,
  };
});

carrierConformance("peer channel", PEER_BATCH, async (): Promise<CarrierWorld> => {
  const p = await channelPair(PEER_PURPOSE);
  const link = openChannel(p.out, true, 60_000, systemClock);
  return {
    carrier: channelCarrier(link, "conformance-file"),
    next: async () => {
      const head = await p.inn.recv();
      if (!head) return null;
      const r = decodePeerRecord(head);
      if (r.t !== "fdata") throw new Error(`not file data: ${r.t}`);
      const body = await p.inn.recvBulk();
      if (!body) return null;
      const d = joinFileData(r, body);
      return { i: d.i, data: concatBytes([...d.data]) };
    },
    cut: p.cut,
    close: p.close,
  };
});

carrierConformance("relay", RELAY_BATCH, (f): Promise<CarrierWorld> => {
  const server = new FakeRelay(cipherSize(f.size), f.from ? chunkOffset(f.from) : 0);
  const src = { file: null as unknown as Deno.FsFile, cipher: null as never, header: f.header, size: f.size };
  const u = { src, put: server.put.bind(server), direct: () => Promise.resolve(null), progress: () => {} };
  return Promise.resolve({
    carrier: relayCarrier(u, server.have),
    next: async () => {
      const b = await server.next();
      if (!b) return null;
      const data = b.off === 0 ? b.data.subarray(FILE_HEADER_LEN) : b.data;
      return { i: chunkAt(f.size, Math.max(b.off, FILE_HEADER_LEN)), data };
    },
    cut: () => server.cut(),
    close: () => Promise.resolve(),
  });
});
