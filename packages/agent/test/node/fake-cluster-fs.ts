import { readdir, readFile, writeFile } from "node:fs/promises";
import {
  untrustedError,
  type ClusterFsPort,
  type ClusterFsState,
  type ClusterFsStatus,
} from "../../src/node/cluster-fs.js";

/**
 * The cluster filesystem's port over plain files, in a state the test sets: for tests of the
 * decisions built on it (the real port, with its reader processes, has tests of its own).
 */
export function fakeClusterFs(initial: ClusterFsState = "ok"): ClusterFsPort & { state: ClusterFsState } {
  const fake = {
    state: initial,
    status: (): ClusterFsStatus => ({
      state: fake.state,
      detail: fake.state === "ok" ? "" : `set by the test`,
      observedAtMs: 0,
    }),
    probe: async () => fake.status(),
    requireTrusted: async (what: string) => {
      if (fake.state !== "ok") throw untrustedError(fake.status(), what);
    },
    readFile: (file: string) => orMissing(() => readFile(file, "utf8"), fake, `read ${file}`),
    listDir: (dir: string) => orMissing(() => readdir(dir), fake, `list ${dir}`),
    writeFile: (file: string, text: string) => writeFile(file, text),
  };
  return fake;
}

async function orMissing<T>(
  read: () => Promise<T>,
  fake: { state: ClusterFsState; status(): ClusterFsStatus },
  what: string,
): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
    if (fake.state !== "ok") throw untrustedError(fake.status(), what);
    return null;
  }
}
