import { applyPending, updateConfig, viewConfig } from "../config/pending-changes.js";
import { checkNotLocked, encodeText, propertyLines, readConfig, writeConfig } from "../node/ct-config.js";
import { PctError, parameterError } from "../node/pct-error.js";
import { readRuntime } from "../node/runtime-state.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";

/** `pct status <vmid> [--verbose]`: `status: running|stopped` (pct.pm status). */
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
  return Object.keys(lines)
    .sort()
    .map((k) => `${k}: ${lines[k]}\n`)
    .join("");
}

/**
 * `pct config <vmid> [--current] [--snapshot <name>]`. pve-container src/PVE/API2/LXC/Config.pm
 * vm_config: without `--current` (default 0) pending values are shown in place of the current
 * ones (AbstractConfig.pm load_current_config).
 */
export function config(ctx: SimContext, args: string[]): string {
  const { positionals, options } = parsePctArgs(args, ["vmid"], { values: ["snapshot"], booleans: ["current"] });
  const vmid = parseVmid(positionals[0]!);
  ctx.fault.at("before-lock");
  const conf = readConfig(ctx.node.layout, ctx.node.name, vmid);
  ctx.fault.at("midway");
  const section =
    options.snapshot !== undefined ? conf.snapshots.get(options.snapshot) : viewConfig(conf, options.current === "1");
  if (!section) throw new PctError(`snapshot '${options.snapshot}' does not exist`);
  const values: Record<string, string> = { ...section.values };
  if (section.description) values.description = encodeText(section.description);
  delete values.digest;
  return propertyLines({ values, lxc: section.lxc })
    .map((line) => `${line}\n`)
    .join("");
}

const SETTABLE =
  /^(arch|cores|cpulimit|cpuunits|description|features|hostname|memory|swap|net\d|onboot|protection|startup|tags|timezone|unprivileged|nameserver|searchdomain|mp\d|ostype|cmode|console|tty|hookscript)$/;

/** Config.pm update_pct_config's refusals, before anything is written. */
function checkChanges(changes: Record<string, string>, deletes: string[]): void {
  for (const key of deletes) {
    if (key === "memory" || key === "rootfs" || key === "ostype")
      throw new PctError(`unable to delete required option '${key}'`);
    if (key === "unprivileged") throw new PctError(`unable to delete read-only option: '${key}'`);
  }
  if ("unprivileged" in changes) throw new PctError("unable to modify read-only option: 'unprivileged'");
}

/**
 * `pct set <vmid> --key value ... [--delete k1,k2] [--revert k3]` in the pct process under the config flock
 * (API2/LXC/Config.pm update_vm). On a running CT the keys Proxmox cannot hot-apply stay in
 * `[pve:pending]` until the next start (Config.pm update_pct_config).
 */
export function set(ctx: SimContext, args: string[]): string {
  const vmid = parseVmid(args[0] ?? "");
  const changes: Record<string, string> = {};
  const deletes: string[] = [];
  const reverts: string[] = [];
  for (let i = 1; i < args.length; i += 2) {
    const key = args[i]!.replace(/^--/, "");
    const value = args[i + 1];
    if (!args[i]!.startsWith("--") || value === undefined) throw new PctError("400 unable to parse option");
    if (key === "delete") deletes.push(...value.split(/[,; ]/).filter(Boolean));
    else if (key === "revert") reverts.push(...value.split(/[,; ]/).filter(Boolean));
    else if (!SETTABLE.test(key))
      throw parameterError(
        key,
        "property is not defined in schema and the schema does not allow additional properties",
      );
    else changes[key] = value;
  }
  const { layout, name } = ctx.node;
  return withConfigLock(ctx, vmid, () => {
    const conf = readConfig(layout, name, vmid);
    checkNotLocked(conf);
    checkChanges(changes, deletes);
    // API2/LXC/Config.pm update_vm refuses a key both reverted and set, or reverted and deleted.
    const setToo = reverts.find((key) => key in changes);
    if (setToo) throw parameterError("revert", `you can't use '-${setToo}' and '-revert ${setToo}' at the same time`);
    const deletedToo = deletes.find((key) => reverts.includes(key));
    if (deletedToo)
      throw parameterError(
        "delete",
        `you can't use '-delete ${deletedToo}' and '-revert ${deletedToo}' at the same time`,
      );
    ctx.fault.at("midway");
    updateConfig(conf, changes, deletes, reverts, readRuntime(layout, vmid).running);
    writeConfig(layout, vmid, conf);
    return "";
  });
}

/**
 * PVE/LXC.pm vm_start: pending changes are applied and written before the CT starts. Called
 * by `pct start` under its flock.
 */
export function applyPendingAtStart(ctx: SimContext, vmid: number): void {
  const conf = readConfig(ctx.node.layout, ctx.node.name, vmid);
  if (!conf.pending) return;
  applyPending(conf);
  writeConfig(ctx.node.layout, vmid, conf);
}
