import { readlink } from "node:fs";
import path from "node:path";

/**
 * The targets of the symlinks `names` in `dir`, in order, null for one that vanished, with at
 * most `limit` readlinks in flight. Callbacks, one promise for the lot: a busy host has
 * tens of thousands of /proc fd links, and a promise per link costs the event loop more than
 * the kernel's readlink does.
 */
export function readLinks(dir: string, names: readonly string[], limit: number): Promise<(string | null)[]> {
  const targets = new Array<string | null>(names.length).fill(null);
  if (names.length === 0) return Promise.resolve(targets);
  return new Promise((resolve) => {
    let next = 0;
    let done = 0;
    const start = (): void => {
      const i = next++;
      readlink(path.join(dir, names[i]!), (err, target) => {
        if (!err) targets[i] = target;
        if (++done === names.length) resolve(targets);
        else if (next < names.length) start();
      });
    };
    for (let k = 0; k < Math.min(limit, names.length); k++) start();
  });
}
