/**
 * Crypto micro-benchmarks for `deno task bench`: `benchCrypto()` returns rows
 * `{ name, value, unit }` measured in-process (no I/O), the file payload's throughput included.
 */

import { utf8 } from "../common/bytes.ts";
import { generateIdentity, publicIdentity } from "./identity.ts";
import { clearSafetyNumberCache, identitySafetyNumber } from "./safety_number.ts";
import { buildBundle, generateOneTimePrekeys, generateSignedPrekey } from "./prekeys.ts";
import {
  createSenderKey,
  decryptRoom,
  encryptRoom,
  processDistribution,
  type RoomReceiverState,
  senderKeyDistribution,
} from "./sender_keys.ts";
import { acceptSession, initiateSession, sessionDecrypt, sessionEncrypt } from "./session.ts";
import { wasmHashers } from "./primitives.ts";
import { CHUNK_SIZE, ChunkedEncryptor, openFileHeader } from "./age_stream.ts";

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

const TEXT = utf8.encode("a typical chat message of some sixty bytes, give or take..");

/** Runs the benchmarks; `scale` < 1 shortens them (tests use a small scale). */
export async function benchCrypto(scale = 1): Promise<BenchRow[]> {
  // A client's steady state: E2eCodec.attach loads the WebAssembly hashers while it opens the
  // keystore; in this loop of resolved promises their lazy load would never get a turn.
  await wasmHashers();
  return [
    ...await benchSessions(scale),
    ...await benchRoom(scale),
    ...await benchSafety(scale),
    ...await benchFilePayload(scale),
  ];
}

/** X3DH session setup (initiate + first message + accept), then DMs both ways on the session made. */
async function benchSessions(scale: number): Promise<BenchRow[]> {
  const alice = await generateIdentity();
  const bob = await generateIdentity();
  const spk = await generateSignedPrekey(bob, 1, 0);
  const nSetup = Math.max(2, Math.round(50 * scale));
  const warmup = Math.max(1, Math.round(10 * scale)); // not timed: the first calls compile the code
  const opks = await generateOneTimePrekeys(1, nSetup + warmup);
  const lookup = { spk: () => spk, opk: (id: number) => opks.find((o) => o.id === id) };
  const hello = utf8.encode("hello");
  let t = 0;
  let last: Awaited<ReturnType<typeof acceptSession>> | undefined;
  let aState;
  for (let i = 0; i < nSetup + warmup; i++) {
    if (i === warmup) t = performance.now();
    const a = await initiateSession(alice, buildBundle(bob, spk, opks[i]));
    const m = await sessionEncrypt(a.state, hello);
    aState = m.state;
    last = await acceptSession(bob, lookup, m.message);
  }
  const setup = { name: "X3DH session setup", value: round((performance.now() - t) / nSetup), unit: "ms" };
  // DM encrypt + decrypt, alternating directions now and then as a conversation does.
  let a = aState!;
  let b = last!.state;
  const nDm = Math.max(10, Math.round(1000 * scale));
  t = performance.now();
  for (let i = 0; i < nDm; i++) {
    const e = await sessionEncrypt(a, TEXT);
    a = e.state;
    const d = await sessionDecrypt(b, e.message);
    b = d.state;
    if (i % 10 === 9) [a, b] = [b, a];
  }
  const dm = round(((performance.now() - t) / nDm) * 1000);
  return [setup, { name: "DM encrypt+decrypt per message", value: dm, unit: "µs" }];
}

/** Room of 100: one sender encrypts once; each of 99 receivers decrypts. */
async function benchRoom(scale: number): Promise<BenchRow[]> {
  let sender = await createSenderKey("bench", 0);
  const receivers: RoomReceiverState[] = [];
  for (let i = 0; i < 99; i++) {
    receivers.push(processDistribution(null, "alice", senderKeyDistribution(sender)));
  }
  const nRoom = Math.max(2, Math.round(20 * scale));
  let tSend = 0;
  let tRecv = 0;
  for (let m = 0; m < nRoom; m++) {
    let t = performance.now();
    const e = await encryptRoom(sender, TEXT);
    tSend += performance.now() - t;
    sender = e.state;
    t = performance.now();
    for (let i = 0; i < receivers.length; i++) {
      receivers[i] = (await decryptRoom(receivers[i]!, e.message)).state;
    }
    tRecv += performance.now() - t;
  }
  return [
    { name: "room send to 100 members (sender)", value: round((tSend / nRoom) * 1000), unit: "µs" },
    {
      name: "room send to 100 members (per receiver)",
      value: round((tRecv / nRoom / 99) * 1000),
      unit: "µs",
    },
  ];
}

/**
 * Safety number, median of a few: cold (both halves: 2 × 5,200 SHA-512), then a new contact each time
 * with the device's own half already cached (one half computed).
 */
async function benchSafety(scale: number): Promise<BenchRow[]> {
  const pa = publicIdentity(await generateIdentity());
  const others = [];
  const nSafety = Math.max(3, Math.round(9 * scale));
  for (let i = 0; i < nSafety; i++) others.push(publicIdentity(await generateIdentity()));
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  const cold: number[] = [], warm: number[] = [];
  for (let i = 0; i < nSafety; i++) {
    clearSafetyNumberCache();
    const t = performance.now();
    await identitySafetyNumber("alice", pa, "bob", others[i]!);
    cold.push(performance.now() - t);
  }
  await identitySafetyNumber("alice", pa, "bob", others[0]!);
  for (let i = 1; i < nSafety; i++) {
    const t = performance.now();
    await identitySafetyNumber("alice", pa, `carol${i}`, others[i]!);
    warm.push(performance.now() - t);
  }
  return [
    { name: "safety number (cold: both halves)", value: round(median(cold)), unit: "ms" },
    { name: "safety number (new contact, own half cached)", value: round(median(warm)), unit: "ms" },
  ];
}

/** The age file payload (age_stream.ts) sealed and opened chunk by chunk as transfers do: MB/s. */
async function benchFilePayload(scale: number): Promise<BenchRow[]> {
  const count = Math.max(16, Math.round(4096 * scale)), batch = 8; // 256 MiB at scale 1
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const cipher = await openFileHeader(secret, (await ChunkedEncryptor.create(secret)).header);
  const pt = new Uint8Array(batch * CHUNK_SIZE).fill(7), sealed: Uint8Array[] = [];
  let t = performance.now();
  for (let i = 0; i < count; i += batch) {
    const out = await Promise.all(cipher.encryptChunks(i, batch, pt, count));
    if (i === 0) sealed.push(...out);
  }
  const enc = (count * CHUNK_SIZE) / 1e3 / (performance.now() - t);
  t = performance.now();
  for (let i = 0; i < count; i += batch) {
    await Promise.all(sealed.map((c, k) => cipher.decryptChunk(k, c, false)));
  }
  const dec = (count * CHUNK_SIZE) / 1e3 / (performance.now() - t);
  return [
    {
      name: `file payload encrypt (age, ${(count * CHUNK_SIZE) >> 20} MiB)`,
      value: round(enc),
      unit: "MB/s",
    },
    {
      name: `file payload decrypt (age, ${(count * CHUNK_SIZE) >> 20} MiB)`,
      value: round(dec),
      unit: "MB/s",
    },
  ];
}
