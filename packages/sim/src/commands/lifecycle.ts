import { bootSystemd } from "../container/systemd.js";
import { checkNotLocked, encodeText, propertyLines, readConfig, writeConfig } from "../node/ct-config.js";
import { PctError, parameterError } from "../node/pct-error.js";
import { readRuntime, updateRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { withTask } from "../node/tasks.js";
import { taskCommand } from "../tasks/task-command.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";

/** Runs a task command: locked, listed as an active task, finished with its status. */
function asTask(ctx: SimContext, vmid: number, type: string, work: () => string): string {
  return withConfigLock(ctx, vmid, () => withTask(ctx.node.layout, ctx.node.name, type, vmid, work));
}

interface PowerPlan {
  readonly vmid: number;
  readonly skiplock: boolean;
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
 * running` is checked in `pct`, before any task; the `vzstart` worker takes the config
 * flock for its whole run (lock_config inside `$realcmd`).
 */
export const start = taskCommand<PowerPlan>({
  before(ctx, args) {
    const { positionals, options } = parsePctArgs(args, ["vmid"], { booleans: ["skiplock"] });
    const vmid = parseVmid(positionals[0]!);
    if (readRuntime(ctx.node.layout, vmid).running) throw new PctError(`CT ${vmid} already running`);
    return { type: "vzstart", id: String(vmid), prepared: { vmid, skiplock: options.skiplock === "1" } };
  },
  body(ctx, { vmid, skiplock }) {
    const { layout } = ctx.node;
    withConfigLock(ctx, vmid, () => {
      checkPowerLock(ctx, vmid, skiplock);
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
function powerOff(type: "vzstop" | "vzshutdown", spec: Parameters<typeof parsePctArgs>[2], lockCheck: (ctx: SimContext, vmid: number, skiplock: boolean) => void) {
  return taskCommand<PowerPlan>({
    before(ctx, args) {
      const { positionals, options } = parsePctArgs(args, ["vmid"], spec);
      const vmid = parseVmid(positionals[0]!);
      if (!readRuntime(ctx.node.layout, vmid).running) throw new PctError(`CT ${vmid} not running`);
      return { type, id: String(vmid), prepared: { vmid, skiplock: options.skiplock === "1" } };
    },
    body(ctx, { vmid, skiplock }) {
      withConfigLock(ctx, vmid, () => {
        lockCheck(ctx, vmid, skiplock);
        ctx.fault.at("midway");
        updateRuntime(ctx.node.layout, vmid, (s) => Object.assign(s, { running: false, startedAt: 0, loaded: [], active: [] }));
      });
    },
  });
}

/** `pct stop`: Status.pm, vm_stop (a `vzstop` task; `--skiplock` and `lock: mounted` as start). */
export const stop = powerOff("vzstop", { booleans: ["skiplock", "overrule-shutdown"] }, checkPowerLock);

/** `pct shutdown`: Status.pm, vm_shutdown (a `vzshutdown` task; always `check_lock`). */
export const shutdown = powerOff("vzshutdown", { values: ["timeout"], booleans: ["forceStop"] }, (ctx, vmid) => checkNotLocked(readConfig(ctx.node.layout, ctx.node.name, vmid)));

export function status(ctx: SimContext, args: string[]): string {
  const { positionals, options } = parsePctArgs(args, ["vmid"], { booleans: ["verbose"] });
  const vmid = parseVmid(positionals[0]!);
  ctx.fault.at("before-lock");
  const config = readConfig(ctx.node.layout, ctx.node.name, vmid);
  ctx.fault.at("midway");
  const runtime = readRuntime(ctx.node.layout, vmid);
  const state = runtime.running ? "running" : "stopped";
  if (options.verbose !== "1") return `status: ${state}\n`;
  const v = config.main.values;
  const lines: Record<string, string> = {
    cpus: v.cores ?? "1",
    maxmem: String(Number(v.memory ?? 512) * 1024 * 1024),
    maxswap: String(Number(v.swap ?? 512) * 1024 * 1024),
    name: v.hostname ?? `CT${vmid}`,
    status: state,
    type: "lxc",
    uptime: String(runtime.running ? Math.floor((Date.now() - runtime.startedAt) / 1000) : 0),
    vmid: String(vmid),
  };
  if (runtime.running) lines.pid = String(100000 + vmid);
  if (v.lock) lines.lock = v.lock;
  return Object.keys(lines).sort().map((k) => `${k}: ${lines[k]}\n`).join("");
}

export function config(ctx: SimContext, args: string[]): string {
  const { positionals, options } = parsePctArgs(args, ["vmid"], { values: ["snapshot"], booleans: ["current"] });
  const vmid = parseVmid(positionals[0]!);
  ctx.fault.at("before-lock");
  const conf = readConfig(ctx.node.layout, ctx.node.name, vmid);
  ctx.fault.at("midway");
  const section = options.snapshot !== undefined ? conf.snapshots.get(options.snapshot) : conf.main;
  if (!section) throw new PctError(`snapshot '${options.snapshot}' does not exist`);
  const values: Record<string, string> = { ...section.values };
  if (section.description) values.description = encodeText(section.description);
  delete values.digest;
  return propertyLines({ values, lxc: section.lxc }).map((line) => `${line}\n`).join("");
}

const SETTABLE = /^(arch|cores|cpulimit|cpuunits|description|features|hostname|memory|swap|net\d|onboot|protection|startup|tags|timezone|unprivileged|nameserver|searchdomain|mp\d|ostype|cmode|console|tty)$/;

export function set(ctx: SimContext, args: string[]): string {
  const vmid = parseVmid(args[0] ?? "");
  const changes: Record<string, string> = {};
  const deletes: string[] = [];
  for (let i = 1; i < args.length; i += 2) {
    const key = args[i]!.replace(/^--/, "");
    const value = args[i + 1];
    if (!args[i]!.startsWith("--") || value === undefined) throw new PctError("400 unable to parse option");
    if (key === "delete") deletes.push(...value.split(/[,; ]/).filter(Boolean));
    else if (!SETTABLE.test(key)) throw parameterError(key, "property is not defined in schema and the schema does not allow additional properties");
    else changes[key] = value;
  }
  const { layout, name } = ctx.node;
  return withConfigLock(ctx, vmid, () => {
    const conf = readConfig(layout, name, vmid);
    checkNotLocked(conf);
    ctx.fault.at("midway");
    for (const key of deletes) key === "description" ? (conf.main.description = "") : delete conf.main.values[key];
    for (const [key, value] of Object.entries(changes)) key === "description" ? (conf.main.description = value) : (conf.main.values[key] = value);
    writeConfig(layout, vmid, conf);
    return "";
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
