import assert from "node:assert/strict";
import { FILE_KEEP, KittyFileSender, type TempFilePort } from "./kitty_file.ts";

/** Temporary files in a map; `read` plays the terminal (reads and deletes). */
function memPort(): TempFilePort & {
  objects: Map<string, Uint8Array>;
  read: (n: string) => void;
  fail: boolean;
} {
  let n = 0;
  const port = {
    objects: new Map<string, Uint8Array>(),
    fail: false,
    put: (b: Uint8Array) => {
      if (port.fail) return null;
      const name = `o${n++}`;
      port.objects.set(name, b.slice());
      return name;
    },
    drop: (name: string) => void port.objects.delete(name),
    read: (name: string) => void port.objects.delete(name),
  };
  return port;
}

const img = { width: 2, height: 1, data: new Uint8Array([1, 2, 3, 9, 4, 5, 6, 9]) };

Deno.test("KittyFileSender puts each frame's RGB in a new file named by the command it returns", () => {
  const port = memPort();
  const s = new KittyFileSender(port);
  const cmd = new TextDecoder().decode(s.render(img, { id: 7 })!);
  assert.ok(cmd.startsWith("\x1b_Ga=T,f=24,s=2,v=1,i=7,q=2,C=1,t=t,S=6;"));
  assert.deepEqual([...port.objects.get("o0")!], [1, 2, 3, 4, 5, 6]);
  assert.ok(cmd.endsWith(`;${btoa("o0")}\x1b\\`));
  port.fail = true;
  assert.equal(s.render(img, { id: 7 }), null, "no file: the caller sends it directly");
});

Deno.test("KittyFileSender deletes an unread file FILE_KEEP frames later, and every unread one at close", () => {
  const port = memPort();
  const s = new KittyFileSender(port);
  for (let i = 0; i < FILE_KEEP + 3; i++) s.render(img, { id: 1 });
  assert.equal(port.objects.size, FILE_KEEP, "a terminal that reads nothing holds at most FILE_KEEP");
  assert.ok(!port.objects.has("o2") && port.objects.has("o3"));
  port.read("o5"); // read by the terminal: dropping it again is harmless
  s.close();
  assert.equal(port.objects.size, 0, "nothing left behind");
});
