/**
 * Tests' look at processes: whether a process id still names a live process (a child a test expects
 * gone, an engine it stopped). Test code only.
 */

/**
 * True when a process with this id still exists (reaped processes throw ESRCH). SIGCONT is harmless
 * to a running ffmpeg; needs only --allow-run (reading /proc would need --allow-all).
 */
export function processAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}
