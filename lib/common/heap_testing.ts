/**
 * Tests only: the bytes V8 has allocated in this process so far (`total_allocated_bytes`, which
 * node:v8's typings leave out), for tests that bound what a hot path allocates.
 */
import { getHeapStatistics } from "node:v8";

/** Bytes V8 has allocated since the process started (garbage included). */
export function allocatedBytes(): number {
  return (getHeapStatistics() as unknown as { total_allocated_bytes: number }).total_allocated_bytes;
}
