/**
 * The files folder's metadata sidecars (`<fid>.json`) and node markers, safe when several nodes
 * share the folder (a cluster's `--files-dir` on NFS or alike). Beside file_store.ts, the
 * only server module of relayed files that touches the file system.
 *
 * Concurrent writes: two nodes may change one file's metadata at once (a room file's `took` list from
 * members on different nodes; the sender's node marking it complete while a reader's node records a
 * take or its withdrawal). So every change is a read-modify-write of `<fid>.json` under the file's
 * lock, `<fid>.lock` (created exclusively, O_EXCL: atomic on a local disk and on NFSv3 and later),
 * merged with what is on disk — the state only moves forward (uploading → ready → done) and `took`
 * is the union — and written under a name of its own, then renamed over the sidecar (atomic: a
 * reader sees the old or the new one, never half). A removal takes the lock too, and a change of a
 * file whose sidecar went is not written (a withdrawn file never comes back). The lock is held for
 * one small read and write; one older than LOCK_STALE_MS (its node died holding it), dated in the
 * future, or waited for that long is broken (`lockIsStale`), and
 * the merge limits what two writers who both believed they held it can lose to one member's take
 * (the file then waits for its expiry instead of going early: never a file gone early). Creation
 * needs no lock: a fid is new (random, the sender's).
 *
 * Markers: each node writes `<files>/nodes/<node>.node` and tells the others its name over the bus;
 * a node that cannot see another node's marker does not share its files folder (file_share.ts).
 */

export type FileState = "uploading" | "ready" | "done";

/** What the merge needs of a sidecar (file_store.ts's FileMeta). */
export interface MetaLike {
  fid: string;
  state: FileState;
  took?: string[];
}

/** How long a lock may be held before it is taken for a dead node's, ms. */
export const LOCK_STALE_MS = 10_000;
/** How far in the future a lock's mtime may be (clocks of the nodes and the file server differ), ms. */
export const LOCK_SKEW_MS = 2_000;
const RANK: Record<FileState, number> = { uploading: 0, ready: 1, done: 2 };

/** The later of two states (states only move forward). */
export const laterState = (a: FileState, b: FileState): FileState => RANK[a] >= RANK[b] ? a : b;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function unlink(p: string): Promise<void> {
  try {
    await Deno.remove(p);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** A file of the folder that is not a regular file: a link (planted in a shared folder), a folder, a device. */
export class NotRegularFile extends Error {
  constructor(path: string) {
    super(`not a regular file: ${path}`);
    this.name = "NotRegularFile";
  }
}

/**
 * Opens `path` only when it is a regular file, never through a link (issue 69 S1: a link planted
 * in a shared `--files-dir` made a node serve any file it could read): lstat, open, then the open
 * handle's own stat must be that very file (device and inode), so a link swapped in between the
 * two is refused too. Synchronous: file_handles.ts opens a file once however many ask at once.
 */
export function openRegularSync(path: string, opts: Deno.OpenOptions): Deno.FsFile {
  const before = Deno.lstatSync(path);
  if (!before.isFile) throw new NotRegularFile(path);
  const file = Deno.openSync(path, opts);
  try {
    const now = file.statSync();
    if (!now.isFile || now.dev !== before.dev || now.ino !== before.ino) throw new NotRegularFile(path);
    return file;
  } catch (e) {
    file.close();
    throw e;
  }
}

/** The largest sidecar read: a room's file lists its members (a planted bigger one is refused unread). */
const MAX_SIDECAR_BYTES = 1 << 20;

/** A regular file's text (`openRegularSync`'s rule); a SyntaxError past MAX_SIDECAR_BYTES. */
async function readRegularText(path: string): Promise<string> {
  const file = openRegularSync(path, { read: true });
  try {
    if (file.statSync().size > MAX_SIDECAR_BYTES) throw new SyntaxError(`${path} is too large for a sidecar`);
    return new TextDecoder().decode(await new Response(file.readable).arrayBuffer());
  } finally {
    try {
      file.close();
    } catch { /* closed with its stream */ }
  }
}

/** The stored length of `<fid>.bin` (0 when there is none); null when it is not a regular file (a link). */
export async function binLength(dir: string, fid: string): Promise<number | null> {
  try {
    const st = await Deno.lstat(`${dir}/${fid}.bin`);
    return st.isFile ? st.size : null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
}

/**
 * What a sidecar's MAC is made under: `sidecarKey` of the cluster key; several during a rotation (the
 * first seals, any verifies); null: none (one node alone).
 */
export type SidecarKey = CryptoKey | readonly CryptoKey[] | null;

/** The key a sidecar is sealed with, and every key one verifies under. */
const sealKey = (key: SidecarKey): CryptoKey | null =>
  Array.isArray(key) ? key[0] ?? null : key as CryptoKey | null;
const verifyKeys = (key: SidecarKey): readonly CryptoKey[] =>
  key === null ? [] : Array.isArray(key) ? key : [key as CryptoKey];

/**
 * The key that authenticates the sidecars of a shared files folder (issue 69 S1: the folder — NFS,
 * another host — is a weaker zone than a node's data folder; a sidecar planted there named any
 * user as a file's recipient): HMAC-SHA-256 under HKDF-SHA-256 of the cluster key (bus/seal.ts's),
 * with a label of its own. WebCrypto.
 */
export async function sidecarKey(clusterKey: Uint8Array): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", clusterKey as BufferSource, "HKDF", false, ["deriveKey"]);
  return await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode(SIDECAR_INFO) },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}
const SIDECAR_INFO = "parley files sidecar v1";

/** The sidecar's text: `m` as JSON, with `mac` (hex HMAC of the JSON without it) under `key`. */
async function sealMeta(m: MetaLike, keys: SidecarKey): Promise<string> {
  const { mac: _old, ...rest } = m as MetaLike & { mac?: unknown };
  const text = JSON.stringify(rest);
  const key = sealKey(keys);
  if (!key) return text;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
  return JSON.stringify({ ...rest, mac: mac.toHex() });
}

/** A sidecar's metadata when its `mac` verifies under `key` (any, without a key); null otherwise. */
async function openMeta<M extends MetaLike>(text: string, fid: string, key: SidecarKey): Promise<M | null> {
  const { mac, ...m } = JSON.parse(text) as M & { mac?: unknown };
  if (m.fid !== fid) return null;
  if (!key) return m as unknown as M;
  if (typeof mac !== "string" || !/^[0-9a-f]{64}$/.test(mac)) return null;
  const sig = Uint8Array.fromHex(mac) as BufferSource, data = new TextEncoder().encode(JSON.stringify(m));
  for (const k of verifyKeys(key)) {
    if (await crypto.subtle.verify("HMAC", k, sig, data)) return m as unknown as M;
  }
  return null;
}

/**
 * The sidecar of `fid` as on disk (a regular file whose MAC verifies under `key`), or null when
 * its MAC does not; throws when there is none or it does not parse (`load` removes a half-written one).
 */
export async function loadMeta<M extends MetaLike>(
  dir: string,
  fid: string,
  key: SidecarKey = null,
): Promise<M | null> {
  return await openMeta<M>(await readRegularText(`${dir}/${fid}.json`), fid, key);
}

/**
 * The sidecar of `fid` as on disk, or null when there is none (or it does not parse, is no regular
 * file, or its MAC does not verify under `key`).
 */
export async function readMeta<M extends MetaLike>(
  dir: string,
  fid: string,
  key: SidecarKey = null,
): Promise<M | null> {
  try {
    return await loadMeta<M>(dir, fid, key);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof SyntaxError || e instanceof NotRegularFile) {
      return null;
    }
    throw e;
  }
}

async function writeAtomic(dir: string, m: MetaLike, key: SidecarKey): Promise<void> {
  const tmp = `${dir}/${m.fid}.json.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, await sealMeta(m, key), { mode: 0o600 });
  await Deno.rename(tmp, `${dir}/${m.fid}.json`);
}

/**
 * Whether a lock found in place is to be broken: its mtime older than LOCK_STALE_MS (its node died
 * holding it) or more than LOCK_SKEW_MS in the future (issue 69 S2: a negative age was never
 * broken: a planted or mis-stamped lock blocked the file's changes for ever), or this waiter has
 * seen that very lock (same inode and mtime) in place for LOCK_STALE_MS of its own clock — the
 * bound of the wait whatever the file times say.
 */
export function lockIsStale(mtimeMs: number, nowMs: number, waitedMs: number): boolean {
  const age = nowMs - mtimeMs;
  return age > LOCK_STALE_MS || age < -LOCK_SKEW_MS || waitedMs > LOCK_STALE_MS;
}

/** Runs `fn` holding `<fid>.lock` (waits for another holder; breaks a stale lock, `lockIsStale`). */
async function locked<T>(dir: string, fid: string, fn: () => Promise<T>): Promise<T> {
  const path = `${dir}/${fid}.lock`;
  let seen = ""; // the lock in place (inode, mtime) when this wait first met it
  let since = 0;
  for (let wait = 1;; wait = Math.min(wait * 2, 50)) {
    try {
      (await Deno.open(path, { write: true, createNew: true, mode: 0o600 })).close();
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const st = await Deno.lstat(path).catch(() => null);
      if (!st) continue; // released meanwhile
      const mtime = st.mtime?.getTime() ?? 0;
      const id = `${st.ino}:${mtime}`;
      if (id !== seen) [seen, since] = [id, performance.now()];
      if (lockIsStale(mtime, Date.now(), performance.now() - since)) await unlink(path);
      else await sleep(wait);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(path);
  }
}

/** Writes a new file's sidecar (no lock: its fid is new). */
export async function createMeta(dir: string, m: MetaLike, key: SidecarKey = null): Promise<void> {
  await writeAtomic(dir, m, key);
}

/**
 * Writes `m` merged with the sidecar on disk (under the file's lock); returns what was written, or
 * null when the sidecar is gone (removed by any node: nothing is written).
 */
export function saveMeta<M extends MetaLike>(dir: string, m: M, key: SidecarKey = null): Promise<M | null> {
  return locked(dir, m.fid, async () => {
    const disk = await readMeta<M>(dir, m.fid, key);
    if (!disk) return null;
    const took = [...new Set([...(disk.took ?? []), ...(m.took ?? [])])];
    const out: M = { ...m, state: laterState(disk.state, m.state), ...(took.length ? { took } : {}) };
    await writeAtomic(dir, out, key);
    return out;
  });
}

/** Removes a file's ciphertext and sidecar (under its lock). */
export function removeMeta(dir: string, fid: string): Promise<void> {
  return locked(dir, fid, async () => {
    await unlink(`${dir}/${fid}.bin`);
    await unlink(`${dir}/${fid}.json`);
  });
}

/** Removes a file's ciphertext only (it was taken; the sidecar stays as "done"). */
export async function removeBin(dir: string, fid: string): Promise<void> {
  await unlink(`${dir}/${fid}.bin`);
}

/** A node's marker file name (its id, only safe characters). */
const markerOf = (dir: string, node: string) =>
  `${dir}/nodes/${node.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 120)}.node`;

/** Writes this node's marker (and removes markers of nodes gone for a day). */
export async function writeMarker(dir: string, node: string): Promise<void> {
  await Deno.mkdir(`${dir}/nodes`, { recursive: true, mode: 0o700 });
  for await (const e of Deno.readDir(`${dir}/nodes`)) {
    const p = `${dir}/nodes/${e.name}`;
    if (e.isFile && e.name.endsWith(".node") && !(await isRecent(p, 86_400_000))) await unlink(p);
  }
  await Deno.writeTextFile(markerOf(dir, node), `${node}\n`, { mode: 0o600 });
}

/** Whether another node's marker is in this folder (it shares the folder). */
export async function hasMarker(dir: string, node: string): Promise<boolean> {
  return await Deno.stat(markerOf(dir, node)).then(() => true, () => false);
}

/** Removes this node's marker (it stops). */
export async function removeMarker(dir: string, node: string): Promise<void> {
  await unlink(markerOf(dir, node));
}

/** Whether a file of the folder changed within the last `ms` (another node may be writing it); file times are the wall clock's. */
export async function isRecent(path: string, ms: number): Promise<boolean> {
  return await Deno.stat(path).then((s) => Date.now() - (s.mtime?.getTime() ?? 0) < ms, () => false);
}
