import assert from "node:assert/strict";
import { createCipheriv, createHmac, hkdfSync } from "node:crypto";
import { fromHex, toHex } from "../common/bytes.ts";
import { type Json, loadVectors } from "./_test_util.ts";
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  aesGcmOpenSync,
  aesGcmSealSync,
  DecryptError,
  ed25519PublicFromPrivate,
  ed25519Sign,
  ed25519Verify,
  hkdfExpandSha512,
  hkdfSha256,
  hmacNode,
  hmacSync,
  rejectAllZero,
  wasmHashers,
  x25519,
  x25519PublicFromPrivate,
} from "./primitives.ts";

function groups(d: Json): { g: Json; t: Json }[] {
  return d.testGroups.flatMap((g: Json) => g.tests.map((t: Json) => ({ g, t })));
}

Deno.test("x25519() matches RFC 7748 §5.2 vectors", async () => {
  const cases = [
    [
      "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
      "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
      "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ],
    [
      "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
      "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
      "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ],
  ];
  for (const [k, u, out] of cases) assert.equal(toHex(await x25519(fromHex(k!), fromHex(u!))), out);
});

Deno.test("x25519() iterated 1 and 1000 times matches RFC 7748 §5.2", async () => {
  let k = fromHex("0900000000000000000000000000000000000000000000000000000000000000");
  let u = k;
  for (let i = 1; i <= 1000; i++) {
    const r = await x25519(k, u);
    u = k;
    k = r;
    if (i === 1) assert.equal(toHex(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
  }
  assert.equal(toHex(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
});

Deno.test("x25519() matches the RFC 7748 §6.1 Diffie-Hellman example", async () => {
  const a = fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const b = fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const pa = await x25519PublicFromPrivate(a);
  const pb = await x25519PublicFromPrivate(b);
  assert.equal(toHex(pa), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assert.equal(toHex(pb), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  assert.equal(toHex(await x25519(a, pb)), k);
  assert.equal(toHex(await x25519(b, pa)), k);
});

Deno.test("x25519() passes Wycheproof x25519 and rejects all-zero outputs", async () => {
  let zero = 0;
  for (const { t } of groups(await loadVectors("x25519_test.json"))) {
    const isZero = /^0+$/.test(t.shared);
    let got: string | Error;
    try {
      got = toHex(await x25519(fromHex(t.private), fromHex(t.public)));
    } catch (e) {
      got = e as Error;
    }
    if (isZero) {
      assert.ok(got instanceof DecryptError, `tc ${t.tcId} must be rejected`);
      zero++;
    } else if (t.result === "valid") assert.equal(got, t.shared, `tc ${t.tcId}`);
    else if (typeof got === "string") assert.equal(got, t.shared, `tc ${t.tcId}`);
  }
  assert.ok(zero > 0);
});

Deno.test("rejectAllZero(): Parley's own all-zero X25519 output check (WebCrypto may throw before it)", () => {
  assert.throws(() => rejectAllZero(new Uint8Array(32)), DecryptError);
  for (const i of [0, 17, 31]) {
    const b = new Uint8Array(32);
    b[i] = 1;
    assert.equal(rejectAllZero(b), b);
  }
});

Deno.test("ed25519Sign() matches RFC 8032 §7.1 tests 1-3", async () => {
  const cases = [
    [
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
      "",
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ],
    [
      "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
      "72",
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ],
    [
      "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
      "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
      "af82",
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ],
  ];
  for (const [sk, pk, msg, sig] of cases) {
    assert.equal(toHex(await ed25519PublicFromPrivate(fromHex(sk!))), pk);
    assert.equal(toHex(await ed25519Sign(fromHex(sk!), fromHex(msg!))), sig);
    assert.ok(await ed25519Verify(fromHex(pk!), fromHex(msg!), fromHex(sig!)));
  }
});

Deno.test("ed25519Verify() passes Wycheproof ed25519", async () => {
  for (const { g, t } of groups(await loadVectors("ed25519_test.json"))) {
    const ok = await ed25519Verify(fromHex(g.publicKey.pk), fromHex(t.msg), fromHex(t.sig));
    assert.equal(ok, t.result === "valid", `tc ${t.tcId} ${t.comment}`);
  }
});

Deno.test("aesGcmEncrypt()/aesGcmDecrypt()/aesGcmOpenSync() pass Wycheproof aes_gcm (AES-256, 96-bit IV, 128-bit tag)", async () => {
  // Only what Parley runs: AES-256 with 12-byte nonces and 16-byte tags, through its own functions.
  let checked = 0;
  for (const { g, t } of groups(await loadVectors("aes_gcm_test.json"))) {
    if (g.ivSize !== 96 || g.tagSize !== 128 || g.keySize !== 256) continue;
    const [key, iv, aad, msg] = [fromHex(t.key), fromHex(t.iv), fromHex(t.aad), fromHex(t.msg)];
    const ctTag = fromHex(t.ct + t.tag);
    const sealed = fromHex(t.iv + t.ct + t.tag); // aesGcmSealSync's layout: nonce ‖ ct ‖ tag
    if (t.result === "valid") {
      assert.equal(toHex(await aesGcmEncrypt(key, iv, msg, aad)), t.ct + t.tag, `tc ${t.tcId}`);
      assert.equal(toHex(await aesGcmDecrypt(key, iv, ctTag, aad)), t.msg);
      assert.equal(toHex(aesGcmOpenSync(key, sealed, aad)), t.msg);
    } else {
      await assert.rejects(aesGcmDecrypt(key, iv, ctTag, aad), DecryptError, `tc ${t.tcId}`);
      assert.throws(() => aesGcmOpenSync(key, sealed, aad), DecryptError, `tc ${t.tcId}`);
    }
    checked++;
  }
  assert.ok(checked > 50, `${checked} cases`);
});

Deno.test("aesGcmEncrypt() above 16 KiB (the WebCrypto path) equals the node:crypto path; aesGcmSealSync round-trips", async () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const iv = new Uint8Array(12).fill(9);
  const big = Uint8Array.from({ length: 40_000 }, (_, i) => i % 251);
  const c = createCipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
  c.setAAD(Uint8Array.of(1, 2));
  const want = toHex(new Uint8Array([...c.update(big), ...c.final(), ...c.getAuthTag()]));
  const got = await aesGcmEncrypt(key, iv, big, Uint8Array.of(1, 2));
  assert.equal(toHex(got), want);
  assert.equal(toHex(await aesGcmDecrypt(key, iv, got, Uint8Array.of(1, 2))), toHex(big));
  const s1 = aesGcmSealSync(key, big.subarray(0, 100), Uint8Array.of(7));
  assert.equal(toHex(aesGcmOpenSync(key, s1, Uint8Array.of(7))), toHex(big.subarray(0, 100)));
  assert.throws(() => aesGcmOpenSync(key, s1, Uint8Array.of(8)), DecryptError, "bound to its AD");
  assert.notEqual(
    toHex(aesGcmSealSync(key, big.subarray(0, 100), Uint8Array.of(7))),
    toHex(s1),
    "fresh nonce",
  );
});

Deno.test("hkdfSha256() matches RFC 5869 appendix A.1-A.3", async () => {
  const ikm = new Uint8Array(22).fill(0x0b);
  const seq = (a: number, n: number) => Uint8Array.from({ length: n }, (_, i) => a + i);
  assert.equal(
    toHex(await hkdfSha256(ikm, seq(0, 13), seq(0xf0, 10), 42)),
    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  );
  assert.equal(
    toHex(await hkdfSha256(seq(0, 80), seq(0x60, 80), seq(0xb0, 80), 82)),
    "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
  );
  assert.equal(
    toHex(await hkdfSha256(ikm, new Uint8Array(0), new Uint8Array(0), 42)),
    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  );
});

Deno.test("hkdfSha256() passes Wycheproof hkdf_sha256 and rejects oversize output", async () => {
  for (const { t } of groups(await loadVectors("hkdf_sha256_test.json"))) {
    const p = hkdfSha256(fromHex(t.ikm), fromHex(t.salt), fromHex(t.info), t.size);
    if (t.result === "valid") assert.equal(toHex(await p), t.okm, `tc ${t.tcId}`);
    else await assert.rejects(p, RangeError, `tc ${t.tcId}`);
  }
});

Deno.test("hmacSync() (the one HMAC path: ratchet, HKDF-Expand) passes Wycheproof hmac_sha256 on both its paths", async () => {
  await wasmHashers(); // hmacSync's composed path; hmacNode is what it answers before hash-wasm is loaded
  for (const { g, t } of groups(await loadVectors("hmac_sha256_test.json"))) {
    for (const hmac of [hmacSync, hmacNode]) {
      const full = toHex(hmac("sha256", fromHex(t.key), fromHex(t.msg)));
      const ok = full.slice(0, g.tagSize / 4) === t.tag;
      assert.equal(ok, t.result === "valid", `${hmac.name} tc ${t.tcId}`);
    }
  }
});

Deno.test("hkdfExpandSha512() equals OpenSSL's HKDF-SHA512 expand over its whole length and bounds length", async () => {
  // Independent reference: node:crypto's hkdfSync (OpenSSL) does extract-then-expand; with the
  // extract step done here (PRK = HMAC-SHA512(salt, ikm), RFC 5869 §2.2) its output is the expansion.
  const ikm = new Uint8Array(22).fill(0x0b);
  const salt = Uint8Array.from({ length: 13 }, (_, i) => i);
  for (
    const [info, len] of [[new Uint8Array([0xf0, 0xf1, 0xf2]), 42], [new Uint8Array([1, 2]), 150], [
      new Uint8Array(0),
      64 * 4 + 1,
    ]] as const
  ) {
    const prk = new Uint8Array(createHmac("sha512", salt).update(ikm).digest());
    const want = new Uint8Array(hkdfSync("sha512", ikm, salt, info, len));
    assert.equal(
      toHex(await hkdfExpandSha512(prk, info, len)),
      toHex(want),
      `info ${toHex(info)} length ${len}`,
    );
  }
  const prk = new Uint8Array(64).fill(7);
  await assert.rejects(hkdfExpandSha512(prk, new Uint8Array(0), 255 * 64 + 1), RangeError);
});
