/**
 * Progress of a server-mode transfer (issue 36, progress everywhere a transfer runs), relayed and
 * direct: both ends report under the file's name, in plaintext bytes of the plaintext total, moving
 * while the file goes (never past the total, only forward), and end with "done" at the total. The
 * TUI and the CLI draw these (tests/files_tmux_test.ts shows them on screen).
 */
import assert from "node:assert/strict";
import { FileTransfers, type TransferProgress } from "../lib/client/files/transfers.ts";
import { eventually, startTestServer } from "./helpers.ts";

function check(l: TransferProgress[], size: number, what: string): void {
  const shown = JSON.stringify(l.map((e) => [e.state, e.done]));
  assert.ok(l.length > 0, `${what}: reported`);
  assert.ok(l.every((e) => e.name === "big.bin" && e.total === size), `${what}: name and plaintext total`);
  assert.ok(l.every((e) => e.done >= 0 && e.done <= size), `${what}: never past the total: ${shown}`);
  const active = l.filter((e) => e.state === "active").map((e) => e.done);
  assert.ok(new Set(active).size >= 2, `${what}: moves while it goes: ${shown}`);
  assert.deepEqual(active, [...active].sort((x, y) => x - y), `${what}: only forward: ${shown}`);
  assert.deepEqual([l.at(-1)!.state, l.at(-1)!.done], ["done", size], `${what}: ends done at the total`);
}

for (const mode of ["relay", "direct"] as const) {
  Deno.test(`files progress (${mode}): both ends move in plaintext bytes under the file's name and end with done`, async () => {
    const t = await startTestServer();
    try {
      const a = await t.e2eClient("alice");
      const b = await t.e2eClient("bob");
      await a.client.sync();
      await b.client.sync();
      const up: TransferProgress[] = [], down: TransferProgress[] = [];
      const fa = FileTransfers.of(a.client, (p) => up.push(p), mode === "direct");
      const fb = FileTransfers.of(b.client, (p) => down.push(p), mode === "direct");
      const size = 6 * 1024 * 1024 + 5;
      await Deno.mkdir(`${t.dir}/src`);
      await Deno.writeFile(`${t.dir}/src/big.bin`, new Uint8Array(size).fill(5));
      const accepted = (async () => {
        const rec = (await eventually(async () => (await fb.incoming())[0], 10_000, "the offer"))!;
        return await fb.accept(rec, `${t.dir}/down`);
      })();
      const sent = await fa.send("bob", `${t.dir}/src/big.bin`, mode, 10_000);
      const got = await accepted;
      assert.equal(sent.via, mode);
      assert.equal(got.via, mode);
      check(up, size, `${mode} up`);
      check(down, size, `${mode} down`);
    } finally {
      await t.stop();
    }
  });
}
