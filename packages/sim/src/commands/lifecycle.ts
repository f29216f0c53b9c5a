import { bootSystemd } from "../container/systemd.js";
import { checkNotLocked, encodeText, propertyLines, readConfig, writeConfig } from "../node/ct-config.js";
import { PctError, parameterError } from "../node/pct-error.js";
import { readRuntime, updateRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { withTask } from "../node/tasks.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";

/** Runs a task command: locked, listed as an active task, finished with its status. */
function asTask(ctx: SimContext, vmid: number, type: string, work: () => string): string {
  return withConfigLock(ctx, vmid, () => withTask(ctx.node.layout, ctx.node.name, type, vmid, work));
}

export function start(ctx: SimContext, args: string[]): string {
  const vmid = parseVmid(parsePctArgs(args, ["vmid"], { booleans: ["skiplock"] }).positionals[0]!);
  const { layout, name } = ctx.node;
  return asTask(ctx, vmid, "vzstart", () => {
    checkNotLocked(readConfig(layout, name, vmid));
    if (readRuntime(layout, vmid).running) throw new PctError(`CT ${vmid} already running`);
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
  return asTask(ctx, vmid, type, () => {
    checkNotLocked(readConfig(layout, name, vmid));
    if (!readRuntime(layout, vmid).running) throw new PctError(`CT ${vmid} not running`);
    ctx.fault.at("midway");
    updateRuntime(layout, vmid, (s) => Object.assign(s, { running: false, startedAt: 0, loaded: [], active: [] }));
    return "";
  });
}

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
