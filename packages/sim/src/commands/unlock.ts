import { readConfig, writeConfig } from "../node/ct-config.js";
import { PctError } from "../node/pct-error.js";
import { recordCall } from "../node/tasks.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";

/**
 * `pct unlock <vmid>`: pve-guest-common AbstractConfig.pm remove_lock without a name, under
 * lock_config in the pct process; whatever the value, and `no lock found trying to remove any
 * lock` when there is none.
 */
export function unlock(ctx: SimContext, args: string[]): string {
  const vmid = parseVmid(parsePctArgs(args, ["vmid"], {}).positionals[0]!);
  const { layout, name } = ctx.node;
  return withConfigLock(ctx, vmid, () => {
    const conf = readConfig(layout, name, vmid);
    if (!conf.main.values.lock) throw new PctError("no lock found trying to remove any lock");
    ctx.fault.at("midway");
    const removed = conf.main.values.lock;
    delete conf.main.values.lock;
    writeConfig(layout, vmid, conf);
    // What was unlocked, for the record: a test can tell a live lock cleared from a stale one.
    recordCall(layout, {
      event: "unlocked",
      pid: process.pid,
      vmid,
      lock: removed,
      at: Date.now(),
      ...(ctx.env.LOCKSTEP_SIM_CALLER ? { caller: ctx.env.LOCKSTEP_SIM_CALLER } : {}),
    });
    return "";
  });
}
