/**
 * Issue 36: the payload of a transfer is a standard age v1 file. The `age` command (age 1.1.1,
 * /usr/bin/age) opens what Parley sends — the ciphertext the server stores, and the header and
 * pieces a sender puts on the direct path and the relay (`cipherPieces`) — given the transfer's
 * one-time identity, to the same SHA-256; Parley's production reader (`openFileHeader` +
 * `PartWriter`) and `decryptFile` read what `age -r` wrote. A `.part` refuses data after the
 * final chunk. Skipped when `age` is not installed.
 */
import assert from "node:assert/strict";
import { concatBytes, sha256Hex, sha256Stream } from "../lib/common/bytes.ts";
import { decodeIdentity, decodeRecipient, encodeIdentity } from "../lib/crypto/age_keys_testing.ts";
import {
  CHUNK_SIZE,
  ChunkedEncryptor,
  decryptFile,
  FILE_HEADER_LEN,
  openFileHeader,
} from "../lib/crypto/age_stream.ts";
import { DecryptError } from "../lib/crypto/primitives.ts";
import { FileTransfers } from "../lib/client/files/transfers.ts";
import { cipherPieces } from "../lib/client/files/cipher.ts";
import { PartWriter } from "../lib/client/files/part_writer.ts";
import { DIRECT_BATCH } from "../lib/client/files/direct.ts";
import { cipherSize, RELAY_BATCH } from "../lib/client/files/layout.ts";
import { eventually, startTestServer } from "./helpers.ts";

const AGE = "/usr/bin/age";
const haveAge = (() => {
  try {
    return Deno.statSync(AGE).isFile;
  } catch {
    return false;
  }
})();

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

async function run(cmd: string, args: string[]): Promise<Uint8Array> {
  const o = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  if (!o.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
  return o.stdout;
}

/** The SHA-256 of what `age -d -i KEYFILE` makes of `file`, given the identity's raw 32 bytes. */
async function ageOpens(dir: string, secret: Uint8Array, file: string): Promise<string> {
  const key = `${dir}/identity.txt`;
  await Deno.writeTextFile(key, `${encodeIdentity(secret)}\n`, { mode: 0o600 });
  return await sha256Hex(await run(AGE, ["-d", "-i", key, file]));
}

const SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 3 * CHUNK_SIZE + 77];

Deno.test({
  name: "age interop: `age -d` opens the ciphertext the server stores, to the file's SHA-256",
  ignore: !haveAge,
  async fn() {
    const t = await startTestServer();
    try {
      const a = await t.e2eClient("alice"), b = await t.e2eClient("bob");
      await a.client.sync();
      await b.client.sync();
      const fa = FileTransfers.of(a.client), fb = FileTransfers.of(b.client);
      await Deno.mkdir(`${t.dir}/src`);
      for (const [i, n] of [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * 1024 * 1024 + 5].entries()) {
        const data = bytes(n, i + 2), p = `${t.dir}/src/f${n}.bin`;
        await Deno.writeFile(p, data);
        const s = await fa.send("bob", p, "relay");
        const rec = (await eventually(async () => (await fb.incoming()).find((r) => r.fid === s.fid), 5000))!;
        const stored = `${t.dir}/files/${s.fid}.bin`;
        assert.equal((await Deno.stat(stored)).size, cipherSize(n));
        // The identity bob got end to end in the offer opens the server's copy with age itself.
        assert.equal(
          await ageOpens(t.dir, Uint8Array.fromBase64(rec.key), stored),
          await sha256Hex(data),
          `${n}`,
        );
      }
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name:
    "age interop: the bytes a sender sends on the direct path and the relay (cipherPieces) are an age file",
  ignore: !haveAge,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      for (const n of SIZES) {
        const data = bytes(n, n + 1), path = `${dir}/f.bin`;
        await Deno.writeFile(path, data);
        const secret = crypto.getRandomValues(new Uint8Array(32));
        const header = (await ChunkedEncryptor.create(secret)).header;
        const cipher = await openFileHeader(secret, header);
        for (const batch of [DIRECT_BATCH, RELAY_BATCH, 1]) {
          const file = await Deno.open(path);
          const parts: Uint8Array[] = [];
          try {
            for await (const p of cipherPieces({ file, cipher, header, size: n }, 0, batch, 3)) {
              parts.push(...p);
            }
          } finally {
            file.close();
          }
          await Deno.writeFile(`${dir}/f.age`, concatBytes(parts));
          assert.equal(
            await ageOpens(dir, secret, `${dir}/f.age`),
            await sha256Hex(data),
            `${n}, batch ${batch}`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "age interop: Parley's reader (openFileHeader + PartWriter) and decryptFile read a file made by `age -r`",
  ignore: !haveAge,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const secret = crypto.getRandomValues(new Uint8Array(32));
      await Deno.writeTextFile(`${dir}/key.txt`, `${encodeIdentity(secret)}\n`);
      // The recipient of that identity, as age's own tools print it.
      const rcp = new TextDecoder().decode(await run("age-keygen", ["-y", `${dir}/key.txt`])).trim();
      assert.equal(rcp.slice(0, 4), "age1");
      decodeRecipient(rcp);
      for (const n of SIZES) {
        const data = bytes(n, n + 5);
        await Deno.writeFile(`${dir}/p.bin`, data);
        await run(AGE, ["-r", rcp, "-o", `${dir}/p.age`, `${dir}/p.bin`]);
        const ct = await Deno.readFile(`${dir}/p.age`);
        assert.deepEqual(await decryptFile(secret, ct), data, `${n}: decryptFile`);
        // age 1.1.1 writes the same header layout as Parley: the production reader takes it as is.
        assert.equal(ct.length, cipherSize(n), `${n}: layout`);
        const out = await Deno.open(`${dir}/p.part`, {
          read: true,
          write: true,
          create: true,
          truncate: true,
        });
        try {
          const hash = sha256Stream();
          const w = new PartWriter(
            out,
            await openFileHeader(secret, ct.subarray(0, FILE_HEADER_LEN)),
            n,
            0,
            hash,
          );
          for (let o = FILE_HEADER_LEN; o < ct.length; o += 40000) await w.push(ct.subarray(o, o + 40000));
          assert.ok(w.done, `${n}: done`);
          assert.equal(hash.hex(), await sha256Hex(data), `${n}: PartWriter`);
        } finally {
          out.close();
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("PartWriter refuses data after the final chunk (in the same push, or in a later one)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const n of [0, 5, CHUNK_SIZE, CHUNK_SIZE + 3]) {
      const secret = crypto.getRandomValues(new Uint8Array(32));
      const e = await ChunkedEncryptor.create(secret);
      const body = concatBytes([e.push(bytes(n)), e.finish()]);
      for (const split of [false, true]) {
        const out = await Deno.open(`${dir}/x.part`, {
          read: true,
          write: true,
          create: true,
          truncate: true,
        });
        try {
          const w = new PartWriter(out, await openFileHeader(secret, e.header), n, 0, sha256Stream());
          if (split) {
            await w.push(body);
            assert.ok(w.done);
            await assert.rejects(w.push(new Uint8Array([1])), DecryptError, `${n}: a later byte`);
          } else {
            await assert.rejects(
              w.push(concatBytes([body, new Uint8Array([0])])),
              DecryptError,
              `${n}: one byte more`,
            );
          }
          assert.equal((await out.stat()).size, n, `${n}: the file itself is kept whole`);
        } finally {
          out.close();
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the testkit's STREAM vectors pass through the production reader too (openFileHeader + PartWriter)", async () => {
  // One home for the chunk rule: PartWriter opens chunks with the same ChunkCipher.decryptChunk the
  // vector-tested StreamDecryptor uses; every testkit file in Parley's header layout is read here too.
  const dir = new URL("../lib/crypto/testdata/age/", import.meta.url), tmp = await Deno.makeTempDir();
  let n = 0;
  try {
    for (
      const name of [
        "stream_two_chunks",
        "stream_three_chunks",
        "stream_last_chunk_full",
        "stream_empty_payload",
        "x25519",
      ]
    ) {
      const raw = await Deno.readFile(new URL(name, dir));
      const cut = raw.findIndex((_, i) => raw[i] === 0x0a && raw[i + 1] === 0x0a) + 2;
      const text = new TextDecoder().decode(raw.subarray(0, cut));
      const body = raw.subarray(cut) as Uint8Array<ArrayBuffer>;
      const ct = /^compressed: zlib$/m.test(text)
        ? new Uint8Array(
          await new Response(new Blob([body]).stream().pipeThrough(new DecompressionStream("deflate")))
            .arrayBuffer(),
        )
        : body;
      const id = text.match(/^identity: (\S+)$/m)![1]!;
      const payload = text.match(/^payload: ([0-9a-f]{64})$/m)![1]!;
      const secret = decodeIdentity(id);
      const size = (await decryptFile(secret, ct)).length;
      assert.equal(ct.length, cipherSize(size), `${name}: Parley's layout`);
      const out = await Deno.open(`${tmp}/v.part`, { read: true, write: true, create: true, truncate: true });
      try {
        const hash = sha256Stream();
        const w = new PartWriter(
          out,
          await openFileHeader(secret, ct.subarray(0, FILE_HEADER_LEN)),
          size,
          0,
          hash,
        );
        await w.push(ct.subarray(FILE_HEADER_LEN));
        assert.ok(w.done, name);
        assert.equal(hash.hex(), payload, name);
        n++;
      } finally {
        out.close();
      }
    }
    assert.equal(n, 5);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
