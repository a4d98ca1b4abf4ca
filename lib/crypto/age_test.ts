import assert from "node:assert/strict";
import { concatBytes, sha256Hex, utf8 } from "../common/bytes.ts";
import { AgeError, b64, parseHeader } from "./age.ts";
import {
  bech32Decode,
  bech32Encode,
  decodeIdentity,
  decodeRecipient,
  encodeIdentity,
  encodeRecipient,
} from "./age_keys_testing.ts";
import {
  CHUNK_SIZE,
  ChunkedEncryptor,
  decryptFile,
  ENC_CHUNK_SIZE,
  encryptFile,
  FILE_HEADER_LEN,
  openFileHeader,
  seeded,
  StreamDecryptor,
} from "./age_stream.ts";
import { x25519PublicFromPrivate } from "./primitives.ts";

const DIR = new URL("./testdata/age/", import.meta.url);

interface Vector {
  name: string;
  meta: Map<string, string[]>;
  file: Uint8Array;
}

async function inflate(b: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** A testkit file: "key: value" lines, an empty line, then the age file (zlib'd when `compressed`). */
async function readVector(name: string): Promise<Vector> {
  const raw = await Deno.readFile(new URL(name, DIR));
  const meta = new Map<string, string[]>();
  let at = 0;
  for (;;) {
    const e = raw.indexOf(0x0a, at);
    const line = new TextDecoder().decode(raw.subarray(at, e));
    at = e + 1;
    if (line === "") break;
    const i = line.indexOf(": ");
    meta.set(line.slice(0, i), [...meta.get(line.slice(0, i)) ?? [], line.slice(i + 2)]);
  }
  const body = raw.subarray(at);
  return { name, meta, file: meta.get("compressed")?.[0] === "zlib" ? await inflate(body) : body };
}

/** Decrypts as a stream fed one encrypted chunk's worth at a time: the plaintext released, and the error. */
async function released(secret: Uint8Array, file: Uint8Array): Promise<{ pt: Uint8Array; err: unknown }> {
  const d = new StreamDecryptor(secret), out: Uint8Array[] = [];
  try {
    for (let o = 0; o < file.length; o += ENC_CHUNK_SIZE) {
      out.push(await d.push(file.subarray(o, o + ENC_CHUNK_SIZE)));
    }
    out.push(await d.finish());
    return { pt: concatBytes(out), err: null };
  } catch (err) {
    return { pt: concatBytes(out), err };
  }
}

const KIND: Record<string, string[]> = {
  "header failure": ["header", "version"],
  "HMAC failure": ["hmac"],
  "no match": ["no match"],
  "payload failure": ["payload"],
};

Deno.test("the C2SP age testkit (X25519, header, MAC, STREAM) passes through StreamDecryptor", async () => {
  let n = 0;
  for await (const e of Deno.readDir(DIR)) {
    if (e.name === "LICENSE") continue;
    const v = await readVector(e.name);
    const expect = v.meta.get("expect")![0]!;
    const ids = v.meta.get("identity") ?? [];
    // Every vector here names one X25519 identity, or none ("empty": no header at all).
    const secret = ids.length ? decodeIdentity(ids[0]!) : crypto.getRandomValues(new Uint8Array(32));
    const r = await released(secret, v.file);
    const hash = await sha256Hex(r.pt);
    if (expect === "success") {
      assert.equal(r.err, null, `${v.name}: ${r.err}`);
      assert.equal(hash, v.meta.get("payload")![0], v.name);
      // and in one piece
      assert.equal(await sha256Hex(await decryptFile(secret, v.file)), hash, v.name);
    } else {
      assert.ok(r.err instanceof AgeError, `${v.name}: expected ${expect}, got ${r.err}`);
      assert.ok(
        KIND[expect]!.includes(r.err.kind),
        `${v.name}: expected ${expect}, got ${r.err.kind}: ${r.err.message}`,
      );
      if (expect === "payload failure") {
        assert.equal(hash, v.meta.get("payload")![0], `${v.name}: released plaintext`);
      }
    }
    n++;
  }
  assert.ok(n >= 60, `${n} vectors`);
});

Deno.test("the testkit's success vectors re-encrypt to the same payload under their file key and nonce", async () => {
  for (
    const name of [
      "stream_two_chunks",
      "stream_last_chunk_full",
      "stream_empty_payload",
      "stream_three_chunks",
    ]
  ) {
    const v = await readVector(name);
    const secret = decodeIdentity(v.meta.get("identity")![0]!);
    const pt = await decryptFile(secret, v.file);
    const h = parseHeader(v.file);
    const nonce = v.file.subarray(h.length, h.length + 16);
    const fileKey = Uint8Array.fromHex(v.meta.get("file key")![0]!);
    // The payload alone, from the file key and nonce, with an encryptor seeded to them.
    const e = await ChunkedEncryptor.create(
      secret,
      seeded(concatBytes([fileKey, new Uint8Array(32).fill(7), nonce])),
    );
    const payload = concatBytes([e.push(pt), e.finish()]);
    assert.deepEqual(payload, v.file.subarray(h.length + 16), name);
  }
});

Deno.test("Bech32 keys: age's example identity and recipient, round trips, bad checksums refused", async () => {
  const id = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
  const secret = decodeIdentity(id);
  assert.equal(encodeIdentity(secret), id);
  // The spec's recipient example belongs to another identity; its encoding round-trips.
  const rcp = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
  assert.equal(encodeRecipient(decodeRecipient(rcp)), rcp);
  assert.equal(bech32Encode("age", decodeRecipient(rcp)), rcp);
  assert.throws(() => decodeIdentity(id.slice(0, -1) + "Y"), SyntaxError);
  assert.throws(
    () => bech32Decode("age1Zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"),
    SyntaxError,
  );
  assert.throws(() => decodeIdentity(rcp), SyntaxError);
  assert.equal(encodeRecipient(await x25519PublicFromPrivate(secret)).slice(0, 4), "age1");
});

Deno.test("Parley's header is FILE_HEADER_LEN bytes and a seed replays it exactly", async () => {
  const secret = crypto.getRandomValues(new Uint8Array(32)),
    seed = crypto.getRandomValues(new Uint8Array(64));
  const a = await ChunkedEncryptor.create(secret, seeded(seed));
  const b = await ChunkedEncryptor.create(secret, seeded(seed));
  assert.equal(a.header.length, FILE_HEADER_LEN);
  assert.deepEqual(a.header, b.header);
  assert.ok(new TextDecoder().decode(a.header).startsWith("age-encryption.org/v1\n-> X25519 "));
  await openFileHeader(secret, a.header);
  await assert.rejects(
    openFileHeader(crypto.getRandomValues(new Uint8Array(32)), a.header),
    (e) => e instanceof AgeError && e.kind === "no match",
  );
  await assert.rejects(openFileHeader(secret, a.header.subarray(0, FILE_HEADER_LEN - 1)), AgeError);
});

Deno.test("round trips at chunk edges; trailing data, truncation and a wrong identity are refused", async () => {
  const secret = crypto.getRandomValues(new Uint8Array(32));
  for (const n of [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 2 * CHUNK_SIZE + 3]) {
    const pt = new Uint8Array(n).map((_, i) => (i * 7 + 3) % 251);
    const ct = await encryptFile(secret, pt);
    assert.deepEqual(await decryptFile(secret, ct), pt, `${n}`);
    assert.deepEqual((await released(secret, ct)).pt, pt, `${n} in pieces`);
    const refuse = async (b: Uint8Array, what: string) =>
      await assert.rejects(decryptFile(secret, b), AgeError, `${n}: ${what}`);
    await refuse(concatBytes([ct, utf8.encode("x")]), "trailing byte");
    await refuse(concatBytes([ct, ct.subarray(FILE_HEADER_LEN)]), "trailing chunks");
    await refuse(ct.subarray(0, ct.length - 1), "truncated");
    if (n > CHUNK_SIZE) {
      await refuse(ct.subarray(0, FILE_HEADER_LEN + ENC_CHUNK_SIZE), "cut after a full chunk");
    }
    await assert.rejects(decryptFile(crypto.getRandomValues(new Uint8Array(32)), ct), AgeError);
  }
});

Deno.test("issue 69 I1: a 20 MiB header in one push is refused as too long before any of it is parsed", async () => {
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const share = b64(crypto.getRandomValues(new Uint8Array(32)));
  const big = new Uint8Array(20 << 20).fill(0x41); // one stanza line of 20 MiB
  const file = concatBytes([
    utf8.encode(`age-encryption.org/v1\n-> X25519 ${share} `),
    big,
    utf8.encode(`\n${b64(new Uint8Array(32))}\n--- ${b64(new Uint8Array(32))}\n`),
    new Uint8Array(12 + 17), // payload nonce, an empty final chunk
  ]);
  // The spy: the header parser builds each line it reads with String.fromCharCode.
  const orig = String.fromCharCode;
  let decoded = 0;
  String.fromCharCode = (...codes: number[]) => (decoded += codes.length, orig(...codes));
  let err: unknown;
  try {
    await new StreamDecryptor(secret).push(file);
  } catch (e) {
    err = e;
  } finally {
    String.fromCharCode = orig;
  }
  assert.ok(err instanceof AgeError, `refused: ${err}`);
  assert.equal(err.kind, "header");
  assert.match(err.message, /too long/);
  assert.equal(decoded, 0, "no header line was read");
  assert.throws(() => parseHeader(file), /The age header is too long/);
});
