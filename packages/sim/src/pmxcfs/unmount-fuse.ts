import { spawnSync } from "node:child_process";
import { fuseMountAt } from "./mount-table.js";
import { PmxcfsError } from "./pmxcfs-error.js";

/** How long a plain unmount is retried (a caller may still be leaving the mount) before a lazy one. */
const PLAIN_UNMOUNT_MS = 2000;
const RETRY_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Unmounts the FUSE mount at `mountpoint` and never leaves it stuck: `fusermount3 -u`, retried
 * for up to 2 s while the mount is busy, then `fusermount3 -u -z` (lazy: detached at once, freed
 * when its last user leaves). Returns how it went; throws only if the mount is still listed.
 */
export async function unmountFuse(mountpoint: string): Promise<"not-mounted" | "unmounted" | "lazy"> {
  if (!fuseMountAt(mountpoint)) return "not-mounted";
  for (const end = Date.now() + PLAIN_UNMOUNT_MS; Date.now() < end; await sleep(RETRY_MS)) {
    spawnSync("fusermount3", ["-u", "-q", mountpoint], { stdio: "ignore", timeout: 5000 });
    if (!fuseMountAt(mountpoint)) return "unmounted";
  }
  spawnSync("fusermount3", ["-u", "-z", "-q", mountpoint], { stdio: "ignore", timeout: 5000 });
  if (fuseMountAt(mountpoint)) throw new PmxcfsError("UNMOUNT_FAILED", `could not unmount ${mountpoint}, even lazily`);
  return "lazy";
}
