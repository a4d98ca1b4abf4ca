/**
 * Issue 71.23: a `--videos` folder that is not there is said at start, by name, in a WARN line
 * (deploy/parley-server.service passes one nothing creates); an existing one is not.
 */
import assert from "node:assert/strict";
import { spawnServerProcess } from "./helpers.ts";

Deno.test("server.ts warns at start that its --videos folder is missing, naming it; an existing one gives no warning", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-videos-" });
  try {
    let s = await spawnServerProcess(dir); // --videos DIR/none
    await s.stop();
    const missing = (await s.errText).split("\n").filter((l) => l.includes("video.folder_missing"));
    assert.equal(missing.length, 1, await s.errText);
    assert.match(missing[0]!, new RegExp(`WARN video\\.folder_missing dir=${dir}/none hint="create it`));
    await Deno.mkdir(`${dir}/vids`);
    s = await spawnServerProcess(dir, { args: ["--videos", `${dir}/vids`] });
    await s.stop();
    assert.doesNotMatch(await s.errText, /video\.folder_missing/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
