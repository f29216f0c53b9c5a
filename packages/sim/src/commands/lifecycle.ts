import { rmSync } from "node:fs";
import path from "node:path";
import { bootSystemd } from "../container/systemd.js";
import { checkNotLocked, readConfig, removeConfig, writeConfig } from "../node/ct-config.js";
import { PctError } from "../node/pct-error.js";
import { readRuntime, removeRuntime, updateRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { withTask } from "../node/tasks.js";
import { haCheckDestroy, haPowerRequest, haPurge } from "../ha/ha-request.js";
import { applyPendingAtStart } from "./config.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";

/** Runs a task command: locked, listed as an active task, finished with its status. */
function asTask(ctx: SimContext, vmid: number, type: string, work: () => string): string {
  return withConfigLock(ctx, vmid, () => withTask(ctx.node.layout, ctx.node.name, type, vmid, work));
}

export function start(ctx: SimContext, args: string[]): string {
  const vmid = parseVmid(parsePctArgs(args, ["vmid"], { booleans: ["skiplock"] }).positionals[0]!);
  const { layout, name } = ctx.node;
  const ha = haPowerRequest(ctx, vmid, "started");
  if (ha !== null) return ha;
  return asTask(ctx, vmid, "vzstart", () => {
    checkNotLocked(readConfig(layout, name, vmid));
    if (readRuntime(layout, vmid).running) throw new PctError(`CT ${vmid} already running`);
    applyPendingAtStart(ctx, vmid);
    ctx.fault.at("midway");
    updateRuntime(layout, vmid, (s) => {
      s.running = true;
      s.startedAt = Date.now();
    });
    bootSystemd(layout, vmid, rootfsPath(layout, vmid));
    return "";
  });
}

export function stop(ctx: SimContext, args: string[], type = "vzstop"): string {
  const vmid = parseVmid(parsePctArgs(args, ["vmid"], { values: ["timeout"], booleans: ["skiplock", "forceStop"] }).positionals[0]!);
  const { layout, name } = ctx.node;
  const ha = haPowerRequest(ctx, vmid, "stopped");
  if (ha !== null) return ha;
  return asTask(ctx, vmid, type, () => {
    checkNotLocked(readConfig(layout, name, vmid));
    if (!readRuntime(layout, vmid).running) throw new PctError(`CT ${vmid} not running`);
    ctx.fault.at("midway");
    updateRuntime(layout, vmid, (s) => Object.assign(s, { running: false, startedAt: 0, loaded: [], active: [] }));
    return "";
  });
}

export function destroy(ctx: SimContext, args: string[]): string {
  const { positionals, options } = parsePctArgs(args, ["vmid"], { booleans: ["force", "purge", "destroy-unreferenced-disks"] });
  const vmid = parseVmid(positionals[0]!);
  const { layout, name } = ctx.node;
  readConfig(layout, name, vmid);
  haCheckDestroy(ctx, vmid, options.purge === "1");
  return asTask(ctx, vmid, "vzdestroy", () => {
    const config = readConfig(layout, name, vmid);
    checkNotLocked(config);
    if (config.main.values.protection === "1") throw new PctError(`can't remove CT ${vmid} - protection mode enabled`);
    if (readRuntime(layout, vmid).running) {
      if (options.force !== "1") throw new PctError(`unable to destroy CT ${vmid} - container is running`);
      updateRuntime(layout, vmid, (s) => Object.assign(s, { running: false, loaded: [], active: [] }));
    }
    config.main.values.lock = "destroyed";
    writeConfig(layout, vmid, config);
    ctx.fault.at("midway");
    rmSync(path.dirname(rootfsPath(layout, vmid)), { recursive: true, force: true });
    removeRuntime(layout, vmid);
    const purged = haPurge(ctx, vmid, options.purge === "1");
    // The config goes last, as in Proxmox; the lock file is never deleted.
    removeConfig(layout, vmid);
    return `  Logical volume "vm-${vmid}-disk-0" successfully removed.\n${purged}`;
  });
}

export function unlock(ctx: SimContext, args: string[]): string {
  const vmid = parseVmid(parsePctArgs(args, ["vmid"], {}).positionals[0]!);
  const { layout, name } = ctx.node;
  return withConfigLock(ctx, vmid, () => {
    const conf = readConfig(layout, name, vmid);
    if (!conf.main.values.lock) throw new PctError("no lock found trying to remove any lock");
    ctx.fault.at("midway");
    delete conf.main.values.lock;
    writeConfig(layout, vmid, conf);
    return "";
  });
}
