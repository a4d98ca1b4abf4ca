/**
 * Test certificates made with the `openssl` command (tests only): a throwaway CA and a leaf it signs
 * for 127.0.0.1, for the tests that show a certificate valid under some CA is still not the pin.
 */

/** In `dir`: a test CA and a leaf it signs for 127.0.0.1; their PEM texts and the leaf's key. */
export async function testCaAndLeaf(
  dir: string,
): Promise<{ caPem: string; leafPem: string; leafKey: string }> {
  const cmd = [
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem " +
    "-subj /CN=ParleyTestCA -days 2 -addext basicConstraints=critical,CA:TRUE " +
    "-addext keyUsage=critical,keyCertSign",
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=127.0.0.1",
    "printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext.cnf",
    "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile ext.cnf",
  ].join(" && ");
  const o = await new Deno.Command("bash", { args: ["-c", cmd], cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!o.success) throw new Error(new TextDecoder().decode(o.stderr));
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  return { caPem: await read("ca.pem"), leafPem: await read("leaf.pem"), leafKey: await read("leaf.key") };
}
