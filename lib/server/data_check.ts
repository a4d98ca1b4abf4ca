/**
 * `parley-server admin check` and `admin salvage` (issue 68 item 7): what a data folder holds and
 * whether it is sound, in lines an operator reads, and the way past damage.
 *
 * check: every file of the data folder with its size (the WAL too: item 9); the database
 * (store/sqlite_check.ts: SQLite's integrity_check, every message row's CRC, the seq mark against
 * every seq seen); an older version's message log not yet imported (store/segment_import.ts, read
 * only); the relayed files against their metadata (a `.bin` without its `.json` or the reverse, and
 * anything that is not a regular file). Runs beside a server (it only reads). `ok` is false when
 * anything is wrong.
 *
 * salvage (server stopped): the database rebuilt from what can be read, the old log imported past
 * its damage (store/sqlite_store.ts `salvageLog`), the old files kept beside; the lines list the
 * seqs lost.
 */
import { join } from "node:path";
import { dbPathIn } from "./data_dir.ts";
import { checkDatabase, salvageDatabase } from "./store/sqlite_check.ts";
import { hasSegmentLog, importSegmentLog, type Skipped } from "./store/segment_import.ts";
import { messageLogDir } from "./store/segment_log.ts";
import { SqliteStore } from "./store/sqlite_store.ts";

const MIB = 1024 * 1024;
const size = (n: number) => n >= MIB ? `${(n / MIB).toFixed(1)} MiB` : `${n} bytes`;

/** `seqs` as short text: "4, 9–12" (at most 20 runs shown). */
export function seqRuns(seqs: readonly number[]): string {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b), runs: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    runs.push(i === j ? `${sorted[i]}` : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return runs.length > 20 ? `${runs.slice(0, 20).join(", ")}, … (${sorted.length} in all)` : runs.join(", ");
}

/** The entries of `dir` (not followed: links are named as what they are), sizes of regular files. */
function listing(dir: string): { name: string; kind: string; bytes: number }[] {
  const out: { name: string; kind: string; bytes: number }[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      const st = Deno.lstatSync(join(dir, e.name));
      const kind = st.isSymlink ? "symlink" : st.isDirectory ? "folder" : st.isFile ? "file" : "other";
      out.push({ name: e.name, kind, bytes: st.isFile ? st.size : 0 });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The relayed files' folder against its metadata: the lines of what is wrong, and a summary. */
function checkFiles(dir: string): { bad: string[]; said: string } {
  const all = listing(dir), bad: string[] = [];
  const names = new Set(all.map((e) => e.name));
  let bytes = 0, n = 0;
  for (const e of all) {
    if (e.kind !== "file") bad.push(`${join(dir, e.name)}: a ${e.kind}, not a regular file`);
    else if (e.name.endsWith(".bin") && !names.has(e.name.replace(/\.bin$/, ".json"))) {
      bad.push(`${join(dir, e.name)}: no metadata (.json) beside it`);
    } else if (e.name.endsWith(".json") && !names.has(e.name.replace(/\.json$/, ".bin"))) {
      bad.push(`${join(dir, e.name)}: its ciphertext (.bin) is missing`);
    }
    if (e.kind === "file" && e.name.endsWith(".bin")) bytes += e.bytes, n++;
  }
  return { bad, said: `${dir}: ${n} relayed file(s), ${size(bytes)}` };
}

/** `admin check`: the lines to print and whether all is well. */
export function adminCheck(dataDir: string, filesDir: string): { lines: string[]; ok: boolean } {
  const lines: string[] = [], wrong: string[] = [];
  lines.push(`Data folder ${dataDir}:`);
  for (const e of listing(dataDir)) {
    lines.push(`  ${e.name}${e.kind === "file" ? `  ${size(e.bytes)}` : `  (${e.kind})`}`);
  }
  const db = dbPathIn(dataDir);
  try {
    Deno.statSync(db);
    const r = checkDatabase(db);
    for (const p of r.problems) wrong.push(`${db}: ${p}`);
    if (r.damaged.length) wrong.push(`${db}: message rows failing their CRC: seq ${seqRuns(r.damaged)}`);
    if (r.unreadable.length) {
      wrong.push(`${db}: message rows that cannot be read: seq ${seqRuns(r.unreadable)}`);
    }
    if (r.seen > r.mark) {
      wrong.push(`${db}: seq mark ${r.mark} is below seq ${r.seen} seen (the next start moves it up)`);
    }
    if (!r.problems.length && !r.damaged.length && !r.unreadable.length) {
      lines.push(`Database: integrity ok, ${r.rows} message row(s) checked, seq mark ${r.mark}`);
    }
  } catch (e) {
    wrong.push(e instanceof Deno.errors.NotFound ? `${db}: no database` : `${db}: ${(e as Error).message}`);
  }
  const log = messageLogDir(db);
  if (hasSegmentLog(log)) {
    const skipped: Skipped[] = [];
    const r = importSegmentLog(log, () => {}, (s) => skipped.push(s));
    for (const s of skipped) {
      wrong.push(
        `${s.file}: bad record at byte ${s.at} (${s.bytes} bytes, after seq ${s.afterSeq}): ${s.why}`,
      );
    }
    lines.push(`Older message log ${log}: ${r.entries} message(s), imported at the next start`);
  }
  const files = checkFiles(filesDir);
  lines.push(files.said);
  for (const b of files.bad) wrong.push(b); // one per file: no spread of a folder-sized list
  if (wrong.length) lines.push(`Problems (${wrong.length}):`, ...wrong.map((w) => `  ${w}`));
  else lines.push("No problems found");
  return { lines, ok: wrong.length === 0 };
}

/** `admin salvage` (server stopped): the lines to print. */
export async function adminSalvage(dataDir: string, stamp: string): Promise<string[]> {
  const db = dbPathIn(dataDir), out: string[] = [];
  const s = await salvageDatabase(db, stamp);
  out.push(
    `Rebuilt ${db} from what could be read: ${s.rows} message row(s), seq mark ${s.mark}`,
    `Kept the old files beside it: ${s.kept.join(", ")}`,
    s.lostSeqs.length
      ? `Lost messages (unreadable or failing their CRC): seq ${seqRuns(s.lostSeqs)}`
      : "No message lost",
    ...s.partial.map((p) => `Read only in part: ${p}`),
  );
  const log = messageLogDir(db);
  if (hasSegmentLog(log)) {
    const kept = `${log}.before-salvage-${stamp}`;
    copyFolder(log, kept);
    const skipped: Skipped[] = [];
    await new SqliteStore(db, { salvageLog: (x) => skipped.push(x) }).close(); // imports, then deletes it
    out.push(`Imported the older message log (kept as ${kept})`);
    for (const x of skipped) {
      out.push(
        `Passed over ${x.bytes} damaged byte(s) of ${x.file} at byte ${x.at} (after seq ${x.afterSeq}): ${x.why}`,
      );
    }
  }
  return out;
}

function copyFolder(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const e of Deno.readDirSync(from)) {
    if (e.isFile) Deno.copyFileSync(join(from, e.name), join(to, e.name));
  }
}
