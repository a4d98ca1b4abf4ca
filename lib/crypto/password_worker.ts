/** Worker body for `PasswordHasher`: runs one argon2id hash or verify per message. */
import { hashPasswordInline, verifyPasswordInline } from "./password.ts";

type Job = { id: number; op: "hash"; password: string; salt: Uint8Array } | {
  id: number;
  op: "verify";
  password: string;
  hash: string;
};

// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = async (e: MessageEvent<Job>) => {
  const j = e.data;
  try {
    const value = j.op === "hash"
      ? await hashPasswordInline(j.password, j.salt)
      : await verifyPasswordInline(j.password, j.hash);
    scope.postMessage({ id: j.id, ok: true, value });
  } catch (err) {
    scope.postMessage({ id: j.id, ok: false, value: String(err) });
  }
};
