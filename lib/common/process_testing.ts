/**
 * Tests' look at processes: whether a process id still names a live process (a child a test expects
 * gone, an engine it stopped). Test code only.
 */

/** Whether process `pid` is alive (a signal that changes nothing reaches it). */
export function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}
