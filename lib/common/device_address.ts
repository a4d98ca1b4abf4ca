/**
 * The one rule for naming one device of an account (issue 9): "user" for device 1 (the account's
 * first folder, so single-device accounts keep their old names everywhere), "user/N" for device N.
 * The server keys device rows and queue cursors by it; clients key sessions and sender keys by it.
 */
export function deviceAddress(user: string, device: number): string {
  return device === 1 ? user : `${user}/${device}`;
}

/** The user and device of an address made by `deviceAddress`. */
export function parseDeviceAddress(address: string): { user: string; device: number } {
  const i = address.lastIndexOf("/");
  if (i < 0) return { user: address, device: 1 };
  return { user: address.slice(0, i), device: Number(address.slice(i + 1)) };
}
