import assert from "node:assert/strict";
import { isLocalAddress } from "./local_address.ts";

Deno.test("isLocalAddress: loopback, private and link-local addresses are local", () => {
  for (
    const h of [
      "127.0.0.1",
      "127.5.6.7",
      "10.0.0.2",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.20",
      "169.254.3.4",
      "::1",
      "[::1]",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
      "::ffff:192.168.0.9",
      "fd12:3456::1",
      "fc00::5",
      "fe80::1%eth0",
      "FE80::abcd",
    ]
  ) assert.equal(isLocalAddress(h), true, h);
});

Deno.test("isLocalAddress: public addresses, names and junk are not", () => {
  for (
    const h of [
      "8.8.8.8",
      "172.15.0.1",
      "172.32.0.1",
      "192.169.0.1",
      "11.0.0.1",
      "100.64.0.1",
      "::ffff:8.8.8.8",
      "2001:db8::1",
      "fec0::1",
      "::",
      "localhost",
      "example.org",
      "300.1.1.1",
      "127.0.0",
      "",
      "::2",
    ]
  ) assert.equal(isLocalAddress(h), false, h);
});
