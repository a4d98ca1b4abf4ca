import assert from "node:assert/strict";
import { utf8 } from "../common/bytes.ts";
import { flipBit } from "./_test_util.ts";
import { openJson, openWithPassword, sealJson, sealWithPassword, WrongPasswordError } from "./at_rest.ts";

Deno.test("sealWithPassword()/openWithPassword() round-trip at OWASP argon2id and refuse a wrong password or edit", async () => {
  const blob = utf8.encode(JSON.stringify({ identity: "secret keys" }));
  const sealed = await sealWithPassword("correct horse", blob);
  assert.equal(sealed[0], 1);
  assert.equal(new DataView(sealed.buffer).getUint32(1), 19456);
  assert.deepEqual(await openWithPassword("correct horse", sealed), blob);
  await assert.rejects(openWithPassword("wrong horse", sealed), WrongPasswordError);
  await assert.rejects(
    openWithPassword("correct horse", flipBit(sealed, sealed.length * 8 - 3)),
    WrongPasswordError,
  );
});

Deno.test("openWithPassword() rejects malformed files and absurd parameters before hashing", async () => {
  await assert.rejects(openWithPassword("x", new Uint8Array(10)), SyntaxError);
  const fake = new Uint8Array(80);
  fake[0] = 1;
  new DataView(fake.buffer).setUint32(1, 0xffffffff);
  new DataView(fake.buffer).setUint32(5, 2);
  fake[9] = 1;
  await assert.rejects(openWithPassword("x", fake), SyntaxError);
});

Deno.test("sealJson()/openJson() round-trip a value with light parameters", async () => {
  const params = { memoryKiB: 64, iterations: 1, parallelism: 1 };
  const v = { a: 1, b: ["x"] };
  assert.deepEqual(await openJson("pw", await sealJson("pw", v, { params })), v);
});
