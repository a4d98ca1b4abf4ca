/**
 * The client's own files outside the stores (the counterpart of the server's data_dir.ts): the
 * client folder (0700, also when it existed before) and a password file. One of the files named by rule 2.
 */

/** Creates the client folder (and parents) if needed, private to the user. */
export async function ensureHome(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (Deno.build.os !== "windows") await Deno.chmod(dir, 0o700); // also when it existed with looser modes
}

/** The password in `path`, without one trailing newline; throws the file system's error. */
export async function readPasswordFile(path: string): Promise<string> {
  return (await Deno.readTextFile(path)).replace(/\r?\n$/, "");
}
