/**
 * Remembered logins as a user runs them: `client.ts` in a child process against an in-process server.
 * `login --remember` keeps a resume token (0600); `videos` then logs in without the password while
 * commands that need the keystore still ask for it; a token the server refuses is forgotten with a
 * note and the password serves; `logout` revokes on the server and forgets here; `--all` reaches
 * the token another folder remembered (which made no keystore).
 */
import assert from "node:assert/strict";
import { runProgram, skipWithout, startTestServer, testFfmpeg, type TestServer } from "./helpers.ts";
import { test } from "./deadline.ts";

const PASSWORD = "pw-viewer-secret";
const ffmpeg = testFfmpeg();

function cli(t: TestServer, home: string, args: string[], password = true) {
  return runProgram(
    "client.ts",
    [...args, "--server", `127.0.0.1:${t.port}`, "--user", "Viewer", "--trust-on-first-use"],
    { PARLEY_HOME: home, PARLEY_FFMPEG: ffmpeg ?? "", ...(password ? { PARLEY_PASSWORD: PASSWORD } : {}) },
  );
}

async function sessions(home: string): Promise<Record<string, { token: string }>> {
  try {
    return JSON.parse(await Deno.readTextFile(`${home}/sessions.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw e;
  }
}

test({
  name: "login --remember lets key-less commands in without the password; logout revokes and forgets",
  ignore: skipWithout(ffmpeg !== null),
  fn: async () => {
    const videos = await Deno.makeTempDir({ prefix: "parley-videos-" });
    const t = await startTestServer({ ffmpeg, videosDir: videos });
    const home = await Deno.makeTempDir({ prefix: "parley-home-" });
    const other = await Deno.makeTempDir({ prefix: "parley-home-" });
    const key = `127.0.0.1:${t.port} viewer`;
    try {
      await (await t.client("viewer", { kdf: {}, password: PASSWORD })).close();

      // Nothing remembered: a key-less command needs the password like any other.
      let r = await cli(t, home, ["videos"], false);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /No password/);

      r = await cli(t, home, ["login", "--remember"]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), `Logged in as viewer on 127.0.0.1:${t.port}`);
      assert.match(r.err, /remembered on this machine/);
      const token = (await sessions(home))[key]?.token;
      assert.match(token ?? "", /^[0-9a-f]{64}$/);
      if (Deno.build.os !== "windows") {
        assert.equal((await Deno.stat(`${home}/sessions.json`)).mode! & 0o777, 0o600);
      }

      // The remembered token serves key-less commands; the keystore's commands still need the password.
      r = await cli(t, home, ["videos"], false);
      assert.equal(r.code, 0, r.err);
      r = await cli(t, home, ["who"], false);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /No password/);
      r = await cli(t, home, ["login"], false);
      assert.equal(r.code, 1, "login checks the password, not the token");

      // A token the server does not know is forgotten with a note, and the password serves.
      const s = await sessions(home);
      s[key]!.token = "0".repeat(64);
      await Deno.writeTextFile(`${home}/sessions.json`, JSON.stringify(s));
      r = await cli(t, home, ["videos"]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /no longer valid and was forgotten/);
      assert.equal((await sessions(home))[key], undefined);

      // logout revokes on the server: the same token, put back, is refused.
      r = await cli(t, home, ["login", "--remember"]);
      assert.equal(r.code, 0, r.err);
      const second = (await sessions(home))[key]!.token;
      r = await cli(t, home, ["logout"], false);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /revoked and forgotten/);
      assert.equal((await sessions(home))[key], undefined);
      await Deno.writeTextFile(
        `${home}/sessions.json`,
        JSON.stringify({ [key]: { token: second, saved: "" } }),
      );
      r = await cli(t, home, ["videos"], false);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /no longer valid and was forgotten/);
      r = await cli(t, home, ["logout"], false);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /No login of viewer is remembered/);

      // Another folder (another machine) remembers a login of its own, without keys of its own.
      assert.equal((await cli(t, home, ["login", "--remember"])).code, 0);
      r = await cli(t, other, ["login", "--remember"]);
      assert.equal(r.code, 0, r.err);
      const files = [];
      for await (const e of Deno.readDir(other)) files.push(e.name);
      assert.deepEqual(files.sort(), ["known_servers.json", "sessions.json"], "no keystore is made");
      r = await cli(t, other, ["videos"], false);
      assert.equal(r.code, 0, r.err);
      // --all from the first folder revokes the other folder's token too.
      r = await cli(t, home, ["logout", "--all"], false);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /every remembered login/);
      assert.equal((await sessions(home))[key], undefined);
      r = await cli(t, other, ["videos"], false);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /no longer valid/);
    } finally {
      await t.stop();
      await Deno.remove(home, { recursive: true });
      await Deno.remove(other, { recursive: true });
      await Deno.remove(videos, { recursive: true });
    }
  },
});
