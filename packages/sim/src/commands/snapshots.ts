import { checkNotLocked, newSection, readConfig, writeConfig, type CtConfig } from "../node/ct-config.js";
import { PctError, parameterError } from "../node/pct-error.js";
import { withTask } from "../node/tasks.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { withConfigLock, type SimContext } from "./sim-context.js";

const SNAPNAME = /^[a-z][a-z0-9_-]+$/i;

function snapname(name: string): string {
  if (!SNAPNAME.test(name) || name.length > 40) throw parameterError("snapname", "invalid format - invalid configuration ID");
  if (name === "current" || name === "vzdump") throw new PctError(`unable to use snapshot name '${name}' (reserved name)`);
  return name;
}

/**
 * `pct snapshot`: like Proxmox, the flock is held only to set `lock: snapshot` (prepare) and
 * to commit; the storage work between is guarded by the lock property alone, so a crash
 * there leaves `lock: snapshot` behind.
 */
export function snapshot(ctx: SimContext, args: string[]): string {
  const { positionals, options } = parsePctArgs(args, ["vmid", "snapname"], { values: ["description"] });
  const vmid = parseVmid(positionals[0]!);
  const name = snapname(positionals[1]!);
  const { layout, name: node } = ctx.node;
  return withTask(layout, node, "vzsnapshot", vmid, () => {
    withConfigLock(ctx, vmid, () => {
      const conf = readConfig(layout, node, vmid);
      checkNotLocked(conf);
      if (conf.snapshots.has(name)) throw new PctError(`snapshot name '${name}' already used`);
      conf.main.values.lock = "snapshot";
      writeConfig(layout, vmid, conf);
    });
    ctx.fault.at("midway");
    withConfigLock(ctx, vmid, () => {
      const conf = readConfig(layout, node, vmid);
      const { lock: _lock, ...values } = conf.main.values;
      const section = newSection({ ...values, snaptime: String(Math.floor(Date.now() / 1000)) }, options.description ?? "");
      section.lxc = conf.main.lxc.map(([key, value]) => [key, value]);
      conf.snapshots.set(name, section);
      conf.main.values = { ...values, parent: name };
      writeConfig(layout, vmid, conf);
    });
    return "";
  });
}

/**
 * `pct delsnapshot`: sets `lock: snapshot-delete` and `snapstate: delete`, removes the
 * volume snapshot, then the section. A storage failure leaves both behind, as on ZFS when a
 * clone depends on the snapshot.
 */
export function delsnapshot(ctx: SimContext, args: string[]): string {
  const { positionals, options } = parsePctArgs(args, ["vmid", "snapname"], { booleans: ["force"] });
  const vmid = parseVmid(positionals[0]!);
  const name = positionals[1]!;
  const { layout, name: node } = ctx.node;
  return withTask(layout, node, "vzdelsnapshot", vmid, () => {
    withConfigLock(ctx, vmid, () => {
      const conf = readConfig(layout, node, vmid);
      checkNotLocked(conf);
      const section = conf.snapshots.get(name);
      if (!section) throw new PctError(`snapshot '${name}' does not exist`);
      conf.main.values.lock = "snapshot-delete";
      section.values.snapstate = "delete";
      writeConfig(layout, vmid, conf);
    });
    if (options.force !== "1") ctx.fault.at("midway");
    withConfigLock(ctx, vmid, () => {
      const conf = readConfig(layout, node, vmid);
      removeSection(conf, name);
      delete conf.main.values.lock;
      writeConfig(layout, vmid, conf);
    });
    return "";
  });
}

function removeSection(conf: CtConfig, name: string): void {
  const parent = conf.snapshots.get(name)?.values.parent;
  conf.snapshots.delete(name);
  const reparent = (values: Record<string, string>): void => {
    if (values.parent !== name) return;
    if (parent) values.parent = parent;
    else delete values.parent;
  };
  for (const section of conf.snapshots.values()) reparent(section.values);
  reparent(conf.main.values);
}

/** `pct listsnapshot`: Proxmox's tree, oldest at the root, `current` last. */
export function listsnapshot(ctx: SimContext, args: string[]): string {
  const vmid = parseVmid(parsePctArgs(args, ["vmid"], {}).positionals[0]!);
  ctx.fault.at("before-lock");
  const conf = readConfig(ctx.node.layout, ctx.node.name, vmid);
  ctx.fault.at("midway");
  const children = new Map<string, string[]>();
  for (const [name, section] of conf.snapshots) {
    const parent = section.values.parent && conf.snapshots.has(section.values.parent) ? section.values.parent : "";
    children.set(parent, [...(children.get(parent) ?? []), name]);
  }
  const current = conf.main.values.parent ?? "";
  children.set(current, [...(children.get(current) ?? []), "current"]);
  const time = (name: string): number => Number(conf.snapshots.get(name)?.values.snaptime ?? Number.MAX_SAFE_INTEGER);
  let out = "";
  const walk = (parent: string, depth: number): void => {
    for (const name of (children.get(parent) ?? []).sort((a, b) => time(a) - time(b))) {
      const prefix = `${" ".repeat(depth)}\`->`;
      const width = 30 - prefix.length;
      if (name === "current") {
        out += `${prefix} ${name.padEnd(width)} ${"".padEnd(23)} You are here!\n`;
        continue;
      }
      const section = conf.snapshots.get(name)!;
      const descr = section.description.split("\n")[0] || "no-description";
      out += `${prefix} ${name.padEnd(width)} ${localTime(time(name)).padEnd(23)} ${descr}\n`;
      walk(name, depth + 1);
    }
  };
  walk("", 0);
  return out;
}

function localTime(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
