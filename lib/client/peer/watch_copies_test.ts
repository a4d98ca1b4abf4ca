import assert from "node:assert/strict";
import { sha256Hex } from "../../common/bytes.ts";
import type { FileEntryInfo } from "../backend.ts";
import { WatchCopies } from "./watch_copies.ts";

Deno.test("watch copies: a peer asking learns only of files exchanged with it (or named by the user)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = new TextEncoder().encode("a video, as far as this test cares");
    const sha = await sha256Hex(data);
    await Deno.writeFile(`${dir}/film.mp4`, data);
    const list: FileEntryInfo[] = [
      {
        fid: "f1",
        direction: "in",
        peer: "carol",
        name: "film.mp4",
        size: data.length,
        state: "saved",
        path: `${dir}/film.mp4`,
        sha256: sha,
      },
    ];
    const copies = new WatchCopies({
      files: { list: () => list },
      sendFile: () => Promise.reject(new Error("not here")),
      on: () => () => {},
    });
    assert.equal(await copies.of(sha), `${dir}/film.mp4`, "this node's own look finds carol's file");
    assert.equal(
      await copies.of(sha, "carol"),
      `${dir}/film.mp4`,
      "carol, who sent it, may learn it is here",
    );
    assert.equal(await copies.of(sha, "bob"), null, "bob may not learn of carol's file");
    await copies.name(`${dir}/film.mp4`);
    assert.equal(
      await copies.of(sha, "bob"),
      `${dir}/film.mp4`,
      "a file the user named to watch is a copy for anyone",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
