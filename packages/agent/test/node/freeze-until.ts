import { existsSync } from "node:fs";

/**
 * Blocks the event loop, as a process starved of CPU or frozen (SIGSTOP, a paused VM) stands
 * still, for at least `ms` and until `marker` exists (the child has answered, however slowly
 * it started), then 200 ms more for that child to exit.
 */
export function freezeUntil(marker: string, ms: number): void {
  for (const end = Date.now() + ms; Date.now() < end || !existsSync(marker););
  for (const end = Date.now() + 200; Date.now() < end;);
}
