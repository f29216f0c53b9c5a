import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { DEBIAN_PYTHON } from "./pmxcfs-settings.js";

/** Whether this machine can serve the simulated pmxcfs, and if not, why. */
export type FuseSupport = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * /dev/fuse, fusermount3 (Debian's fuse3) and fusepy under Debian's Python (python3-fusepy);
 * scripts/fuse-prereqs.sh installs the last two.
 */
export function fuseSupport(): FuseSupport {
  if (!existsSync("/dev/fuse")) return { ok: false, reason: "no /dev/fuse on this machine" };
  if (spawnSync("fusermount3", ["-V"], { stdio: "ignore" }).status !== 0)
    return { ok: false, reason: "fusermount3 is missing (Debian's fuse3: scripts/fuse-prereqs.sh)" };
  if (spawnSync(DEBIAN_PYTHON, ["-c", "import fusepy"], { stdio: "ignore" }).status !== 0) {
    return {
      ok: false,
      reason: `${DEBIAN_PYTHON} cannot import fusepy (Debian's python3-fusepy: scripts/fuse-prereqs.sh)`,
    };
  }
  return { ok: true };
}
