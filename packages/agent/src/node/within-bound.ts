/**
 * A timer for a bound on I/O, judged after the I/O already waiting: a process that was frozen
 * (SIGSTOP, a paused VM, a host in swap, starved of CPU) wakes with its timers due and its
 * answers unread, and Node runs due timers before it reads. The expiry is put off by one full
 * turn of the event loop: the first setImmediate runs after the poll for I/O, the second after
 * the close callbacks too (where a child process's 'close' comes, after its pipes closed), so
 * an answer that had arrived is not taken for a bound missed by the one who sent it.
 */
export function boundTimer(ms: number, onExpiry: () => void): NodeJS.Timeout {
  return setTimeout(() => setImmediate(() => setImmediate(onExpiry)), ms);
}

/**
 * What `work` answers within `ms`, or `fallback` if it has not answered by then. The work is
 * not stopped (a read stuck in the kernel cannot be), only no longer waited for; the timer is
 * cleared either way, so nothing is kept alive by it.
 */
export async function withinBound<T, F>(work: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => (timer = boundTimer(ms, () => resolve(fallback))));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
