import { removeLock, setLock } from "../config/guest-lock.js";
import { sleepSync } from "../locking/flock.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import type { SimContext } from "./sim-context.js";

/**
 * `pct fstrim <vmid> [--ignore-mountpoints]`: pve-container src/PVE/CLI/pct.pm fstrim. In the
 * pct process, no task: `set_lock($vmid, 'fstrim')` (flock only for that write), `fstrim -v`
 * on the root (LOCKSTEP_SIM_FSTRIM_MS, default 500, so the lock can be observed), then
 * `remove_lock($vmid, 'fstrim')`. A failing trim is only a warning (`warn $@`).
 */
export function fstrim(ctx: SimContext, args: string[]): string {
  const vmid = parseVmid(parsePctArgs(args, ["vmid"], { booleans: ["ignore-mountpoints"] }).positionals[0]!);
  setLock(ctx, vmid, "fstrim");
  ctx.fault.at("midway");
  sleepSync(Number(ctx.env.LOCKSTEP_SIM_FSTRIM_MS ?? 500));
  removeLock(ctx, vmid, "fstrim");
  // util-linux fstrim -v: `<path>: <size> (<n> bytes) trimmed`.
  return `/var/lib/lxc/${vmid}/rootfs/: 0 B (0 bytes) trimmed\n`;
}
