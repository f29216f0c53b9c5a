import type { SimContext } from "../commands/sim-context.js";
import { withConfigLock } from "../commands/sim-context.js";
import { checkNotLocked, readConfig, writeConfig, type CtConfig } from "../node/ct-config.js";
import { PctError } from "../node/pct-error.js";

/**
 * pve-guest-common src/PVE/AbstractConfig.pm set_lock: under the config flock (held only for
 * this write), refuses a locked CT (`CT is locked (<lock>)`) and writes `lock: <lock>`.
 */
export function setLock(ctx: SimContext, vmid: number, lock: string): CtConfig {
  return withConfigLock(ctx, vmid, () => {
    const conf = readConfig(ctx.node.layout, ctx.node.name, vmid);
    checkNotLocked(conf);
    conf.main.values.lock = lock;
    writeConfig(ctx.node.layout, vmid, conf);
    return conf;
  });
}

/**
 * AbstractConfig.pm remove_lock: under the config flock, removes `lock: <lock>`. Its texts:
 * `no lock found trying to remove '<lock>'  lock` (two spaces: `"'$lock' "` then `" lock"`)
 * and `found lock '<other>' trying to remove '<lock>' lock`.
 */
export function removeLock(ctx: SimContext, vmid: number, lock: string): void {
  withConfigLock(ctx, vmid, () => {
    const conf = readConfig(ctx.node.layout, ctx.node.name, vmid);
    const found = conf.main.values.lock;
    if (!found) throw new PctError(`no lock found trying to remove '${lock}'  lock`);
    if (found !== lock) throw new PctError(`found lock '${found}' trying to remove '${lock}' lock`);
    delete conf.main.values.lock;
    writeConfig(ctx.node.layout, vmid, conf);
  });
}
