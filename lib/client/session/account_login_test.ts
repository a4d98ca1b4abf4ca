/**
 * Issue 69 D1 on the client: a password login answered `locked` is tried once more with the device's
 * proof (`proveDevice`); a server from before device proofs at login refuses the fields (`invalid`)
 * and the lockout is what the caller hears; without a proof, or for another refusal, nothing is retried.
 */
import assert from "node:assert/strict";
import { BackendError } from "../backend.ts";
import { newAccountKdf } from "../../crypto/account_kdf.ts";
import { authenticate } from "./account_login.ts";
import type { Connection } from "./connection.ts";

const fast = { memoryKiB: 64, iterations: 1, parallelism: 1 };

/** A connection whose login answers come from `answers` in turn; the logins' fields are kept. */
function fakeConn(answers: (string | "ok")[]) {
  const logins: Record<string, unknown>[] = [];
  const conn = {
    request: (kind: string, fields: Record<string, unknown>) => {
      if (kind === "kdf") return Promise.resolve({ header: { kdf: newAccountKdf(fast) } });
      logins.push(fields);
      const a = answers.shift();
      return a === "ok"
        ? Promise.resolve({ header: { user: "alice", role: "user" } })
        : Promise.reject(new BackendError(a!, `answer ${a}`));
    },
  } as unknown as Connection;
  return { conn, logins };
}

const proof = () => Promise.resolve({ device: 1, deviceKey: "k", proof: "p" });
const creds = { user: "alice", password: "pw-alice-secret", kdf: { params: fast, floor: fast } };

Deno.test("login: locked, then the device's proof gets through; old servers and other refusals are not retried", async () => {
  const ok = fakeConn(["locked", "ok"]);
  assert.equal((await authenticate(ok.conn, { ...creds, proveDevice: proof })).header.user, "alice");
  assert.deepEqual([ok.logins.length, ok.logins[0]!.proof, ok.logins[1]!.proof], [2, undefined, "p"]);

  const old = fakeConn(["locked", "invalid"]);
  await assert.rejects(authenticate(old.conn, { ...creds, proveDevice: proof }), { code: "locked" });

  const wrong = fakeConn(["locked", "bad_credentials"]);
  await assert.rejects(authenticate(wrong.conn, { ...creds, proveDevice: proof }), {
    code: "bad_credentials",
  });

  const bad = fakeConn(["bad_credentials"]);
  await assert.rejects(authenticate(bad.conn, { ...creds, proveDevice: proof }), { code: "bad_credentials" });
  assert.equal(bad.logins.length, 1);

  const none = fakeConn(["locked"]);
  await assert.rejects(authenticate(none.conn, creds), { code: "locked" });
  assert.equal(none.logins.length, 1);
});
