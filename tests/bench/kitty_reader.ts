/**
 * The kitty side of temporary files in the terminal bench (terminal_video.ts): run behind tmux's
 * `pipe-pane`, it gets what the pane's program wrote, saves it to the capture file named by its
 * argument (the bytes rows) and, as kitty does with a `t=t` command (`a=T` or a query `a=q`), reads
 * the whole file it names (the path in base64 as the payload; only under /tmp/ with
 * `tty-graphics-protocol` in it) and deletes it. Its own CPU is the terminal's, not the player's:
 * the bench does not count it.
 */
const capture = await Deno.open(Deno.args[0]!, { write: true, create: true, truncate: true });
const dec = new TextDecoder("latin1");
let tail: Uint8Array = new Uint8Array(0); // an APC not ended in the last piece

/** The `t=t` commands whole in `b` (their files read and deleted); what is left from the last one. */
function scan(b: Uint8Array): Uint8Array {
  let i = 0;
  for (;;) {
    const s = b.indexOf(0x1b, i);
    if (s < 0 || s + 2 >= b.length) return s < 0 ? new Uint8Array(0) : b.slice(s);
    if (b[s + 1] !== 0x5f || b[s + 2] !== 0x47) { // not ESC _ G
      i = s + 1;
      continue;
    }
    const semi = b.indexOf(0x3b, s);
    const end = b.indexOf(0x1b, s + 3);
    if (end < 0 || end + 1 >= b.length) return b.length - s > 8192 ? new Uint8Array(0) : b.slice(s);
    if (semi > 0 && semi < end) {
      const keys = dec.decode(b.subarray(s + 3, semi));
      if (/(^|,)t=t(,|$)/.test(keys)) readFile(dec.decode(b.subarray(semi + 1, end)));
    }
    i = end + 1;
  }
}

function readFile(b64: string): void {
  let path: string;
  try {
    path = atob(b64);
  } catch {
    return;
  }
  if (!path.startsWith("/tmp/") || !path.includes("tty-graphics-protocol") || path.includes("..")) return;
  try {
    Deno.readFileSync(path);
    Deno.removeSync(path);
  } catch { /* already deleted: kitty answers an error, draws nothing */ }
}

for await (const piece of Deno.stdin.readable) {
  for (let o = 0; o < piece.length;) o += await capture.write(piece.subarray(o));
  let b = piece;
  if (tail.length) {
    b = new Uint8Array(tail.length + piece.length);
    b.set(tail);
    b.set(piece, tail.length);
  }
  tail = scan(b);
}
capture.close();
