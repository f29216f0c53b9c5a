// A full disk under the agent's state directory, made real: a 1 MiB tmpfs filled to the brim.
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir } from "@lockstep/shared";
import { StateStorageFullError } from "../../src/errors.js";
import { RequestDeduplicator } from "../../src/dedup/index.js";
import { openStore } from "./temp-store.js";

const isRoot = process.getuid?.() === 0;

function smallFilesystem(t: Parameters<typeof openStore>[0]): string {
  const dir = scratchDir(t, "lockstep-full");
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
  t.teardown(() => execFileSync("umount", ["-l", dir]));
  return dir;
}

/** Fills the filesystem of `dir` until a write fails with ENOSPC; returns the filler to free space. */
function fill(dir: string): string {
  const filler = path.join(dir, "filler");
  try {
    writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  }
  return filler;
}

const request = (n: number) => ({
  requestId: `req-full-${String(n).padStart(4, "0")}`,
  method: "CreateContainer",
  vmid: 101,
  params: { vmid: 101, n },
});

/**
 * Runs new requests until one cannot be recorded as started (the log's last page, allocated
 * before the disk filled, takes a few lines first, and may end with a request whose start fit
 * and whose outcome did not); returns that failure and whether its operation ran.
 */
async function firstUnrecorded(dedup: RequestDeduplicator): Promise<{ n: number; err: unknown; ran: boolean }> {
  for (let n = 1; n <= 500; n++) {
    let ran = false;
    try {
      await dedup.run(request(n), async () => (ran = true));
    } catch (err) {
      if (!ran || n === 500) return { n, err, ran };
    }
  }
  throw new Error("the state directory never filled up");
}

(isRoot ? test : test.skip)(
  "a request that cannot be recorded on a full state directory fails with STATE_STORAGE_FULL, not UNAVAILABLE, and runs nothing",
  async (t) => {
    const dir = smallFilesystem(t);
    const store = await openStore(t, dir);
    const dedup = new RequestDeduplicator(store, store.logger);
    fill(dir);
    const { err, ran } = await firstUnrecorded(dedup);
    t.true(err instanceof StateStorageFullError);
    t.is((err as StateStorageFullError).code, "STATE_STORAGE_FULL");
    t.is((err as StateStorageFullError).metadata.errno, "ENOSPC");
    t.false(ran);
  },
);

(isRoot ? test : test.skip)("once space is freed, the same request ID runs", async (t) => {
  const dir = smallFilesystem(t);
  const store = await openStore(t, dir);
  const dedup = new RequestDeduplicator(store, store.logger);
  const filler = fill(dir);
  const { n, err } = await firstUnrecorded(dedup);
  t.true(err instanceof StateStorageFullError);
  rmSync(filler);
  t.deepEqual(await dedup.run(request(n), async () => "done"), { value: "done", replayed: false });
});
