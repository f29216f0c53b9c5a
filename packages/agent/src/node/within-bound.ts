/**
 * What `work` answers within `ms`, or `fallback` if it has not answered by then. The work is
 * not stopped (a read stuck in the kernel cannot be), only no longer waited for; the timer is
 * cleared either way, so nothing is kept alive by it.
 */
export async function withinBound<T, F>(work: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
