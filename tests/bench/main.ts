/**
 * `deno task bench`: runs every benchmark group and prints one table. Groups: chat (server load
 * A/B/C), crypto, media, tui, video. `deno task bench chat crypto` runs only those groups.
 */
import { benchChat, type Row } from "./chat_load.ts";

type Group = () => Promise<Row[]>;

const groups: Record<string, Group> = {
  chat: () => benchChat(),
};

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

const wanted = Deno.args.length ? Deno.args : Object.keys(groups);
const rows: (Row & { group: string })[] = [];
for (const g of wanted) {
  const fn = groups[g];
  if (!fn) {
    console.error(`Unknown bench group "${g}"; groups: ${Object.keys(groups).join(", ")}`);
    Deno.exit(2);
  }
  const t0 = performance.now();
  for (const r of await fn()) rows.push({ ...r, group: g });
  console.error(`bench ${g}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const w = Math.max(...rows.map((r) => r.name.length), 6);
console.log(`| group  | ${"metric".padEnd(w)} | ${"value".padStart(12)} | unit | target |`);
console.log(`|--------|-${"-".repeat(w)}-|-${"-".repeat(12)}-|------|--------|`);
for (const r of rows) {
  console.log(
    `| ${r.group.padEnd(6)} | ${r.name.padEnd(w)} | ${fmt(r.value).padStart(12)} | ${r.unit.padEnd(4)} | ${
      r.target ?? ""
    } |`,
  );
}
