import { readdirSync } from "node:fs";
import { readConfig } from "../node/ct-config.js";
import { readRuntime } from "../node/runtime-state.js";
import { parsePctArgs } from "./pct-args.js";
import type { SimContext } from "./sim-context.js";

const row = (a: string, b: string, c: string, d: string): string =>
  `${a.padEnd(10)} ${b.padEnd(10)} ${c.padEnd(12)} ${d.padEnd(20)}\n`;

/** `pct list`: a header and one row per CT, sorted; nothing at all when there is no CT. */
export function list(ctx: SimContext, args: string[]): string {
  parsePctArgs(args, [], {});
  ctx.fault.at("before-lock");
  const { layout, name } = ctx.node;
  const vmids = readdirSync(layout.lxcDir)
    .map((f) => /^(\d+)\.conf$/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  ctx.fault.at("midway");
  if (vmids.length === 0) return "";
  let out = row("VMID", "Status", "Lock", "Name");
  for (const vmid of vmids) {
    const values = readConfig(layout, name, vmid).main.values;
    out += row(
      String(vmid),
      readRuntime(layout, vmid).running ? "running" : "stopped",
      values.lock ?? "",
      values.hostname ?? `CT${vmid}`,
    );
  }
  return out;
}
