import { readConfig } from "../node/ct-config.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import type { SimContext } from "./sim-context.js";

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
