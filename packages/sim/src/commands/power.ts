import { bootSystemd } from "../container/systemd.js";
import { haManaged } from "../ha/ha-resources.js";
import { requestHaState } from "../ha/ha-request.js";
import { checkNotLocked, readConfig } from "../node/ct-config.js";
import { PctError } from "../node/pct-error.js";
import { readRuntime, updateRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { taskCommand } from "../tasks/task-command.js";
import { applyPendingAtStart } from "./config.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";
import { checkCfsQuorum } from "../pmxcfs/quorum.js";

interface PowerPlan {
  readonly vmid: number;
  readonly skiplock: boolean;
  /** HA-managed: the task only requests the state from the HA manager (`hastart`/`hastop`). */
  readonly ha: boolean;
}

/**
 * pve-container src/PVE/API2/LXC/Status.pm, vm_start/vm_stop: `--skiplock` skips the lock
 * check, and so does `lock: mounted` (`!PVE::LXC::Config->has_lock($conf, 'mounted')`).
 */
function checkPowerLock(ctx: SimContext, vmid: number, skiplock: boolean): void {
  const conf = readConfig(ctx.node.layout, ctx.node.name, vmid);
  if (!skiplock && conf.main.values.lock !== "mounted") checkNotLocked(conf);
}

/**
 * `pct start`: pve-container src/PVE/API2/LXC/Status.pm, vm_start. `CT <vmid> already
 * running` is checked in `pct`, before any task; for an HA-managed CT a `hastart` task only
 * requests the state; otherwise the `vzstart` worker takes the config flock for its whole run
 * (lock_config inside `$realcmd`) and applies pending changes first (PVE/LXC.pm vm_start).
 */
export const start = taskCommand<PowerPlan>({
  before(ctx, args) {
    const { positionals, options } = parsePctArgs(args, ["vmid"], { booleans: ["skiplock"] });
    const vmid = parseVmid(positionals[0]!);
    if (readRuntime(ctx.node.layout, vmid).running) throw new PctError(`CT ${vmid} already running`);
    checkCfsQuorum(ctx.node.layout);
    const ha = haManaged(ctx.node.layout, vmid);
    return {
      type: ha ? "hastart" : "vzstart",
      id: String(vmid),
      prepared: { vmid, skiplock: options.skiplock === "1", ha },
    };
  },
  body(ctx, { vmid, skiplock, ha }, io) {
    if (ha) return requestHaState(ctx, vmid, "started", io);
    const { layout } = ctx.node;
    withConfigLock(ctx, vmid, () => {
      checkPowerLock(ctx, vmid, skiplock);
      applyPendingAtStart(ctx, vmid);
      ctx.fault.at("midway");
      updateRuntime(layout, vmid, (s) => {
        s.running = true;
        s.startedAt = Date.now();
      });
      bootSystemd(layout, vmid, rootfsPath(layout, vmid));
    });
  },
});

/** What stop and shutdown share: `CT <vmid> not running` in `pct`, the rest in the worker. */
function powerOff(
  type: "vzstop" | "vzshutdown",
  spec: Parameters<typeof parsePctArgs>[2],
  lockCheck: (ctx: SimContext, vmid: number, skiplock: boolean) => void,
) {
  return taskCommand<PowerPlan>({
    before(ctx, args) {
      const { positionals, options } = parsePctArgs(args, ["vmid"], spec);
      const vmid = parseVmid(positionals[0]!);
      if (!readRuntime(ctx.node.layout, vmid).running) throw new PctError(`CT ${vmid} not running`);
      const ha = haManaged(ctx.node.layout, vmid);
      return {
        type: ha ? "hastop" : type,
        id: String(vmid),
        prepared: { vmid, skiplock: options.skiplock === "1", ha },
      };
    },
    body(ctx, { vmid, skiplock, ha }, io) {
      if (ha) return requestHaState(ctx, vmid, "stopped", io);
      withConfigLock(ctx, vmid, () => {
        lockCheck(ctx, vmid, skiplock);
        ctx.fault.at("midway");
        updateRuntime(ctx.node.layout, vmid, (s) =>
          Object.assign(s, { running: false, startedAt: 0, loaded: [], active: [] }),
        );
      });
    },
  });
}

/** `pct stop`: Status.pm, vm_stop (a `vzstop` task; `--skiplock` and `lock: mounted` as start). */
export const stop = powerOff("vzstop", { booleans: ["skiplock", "overrule-shutdown"] }, checkPowerLock);

/** `pct shutdown`: Status.pm, vm_shutdown (a `vzshutdown` task; always `check_lock`). */
export const shutdown = powerOff("vzshutdown", { values: ["timeout"], booleans: ["forceStop"] }, (ctx, vmid) =>
  checkNotLocked(readConfig(ctx.node.layout, ctx.node.name, vmid)),
);
