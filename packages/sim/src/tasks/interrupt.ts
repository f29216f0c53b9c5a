/**
 * The task worker's pending interrupt. Proxmox's worker sets
 * `$SIG{INT} = $SIG{QUIT} = $SIG{TERM} = sub { die "received interrupt\n" }` (pve-common
 * RESTEnvironment.pm, fork_worker). The simulator's body runs synchronously in a worker
 * thread, so the worker process's main thread catches the signal and raises this shared flag;
 * the body notices it at its check points: sliced sleeps, flock waits, `io.checkpoint`.
 */
let flag: Int32Array | null = null;

/** The message Proxmox's worker dies with. */
export const INTERRUPT_MESSAGE = "received interrupt";

/** Makes this thread a task body that watches `buffer` (shared with the signal handler). */
export function watchInterrupts(buffer: SharedArrayBuffer): void {
  flag = new Int32Array(buffer);
}

/** Raises the interrupt on `buffer` and wakes a sleeping body (called from the signal handler). */
export function raiseInterrupt(buffer: SharedArrayBuffer): void {
  const view = new Int32Array(buffer);
  Atomics.store(view, 0, 1);
  Atomics.notify(view, 0);
}

/** True when this is a task body whose worker got INT, QUIT or TERM. */
export function interruptPending(): boolean {
  return flag !== null && Atomics.load(flag, 0) !== 0;
}

/** Throws `received interrupt` when one is pending (a check point of the body). */
export function checkInterrupt(): void {
  if (interruptPending()) throw new Error(INTERRUPT_MESSAGE);
}

/** Waits `ms`, waking at once on an interrupt (then throws), as a Perl `sleep` does. */
export function interruptibleSleep(ms: number): void {
  checkInterrupt();
  if (flag) Atomics.wait(flag, 0, 0, ms);
  else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  checkInterrupt();
}

/** True in a task body (its waits are then sliced to notice interrupts). */
export function watchingInterrupts(): boolean {
  return flag !== null;
}
