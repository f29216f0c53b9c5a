import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseConfig, readCalls, readRuntime, simLayout, type CallRecord } from "@lockstep/sim";
import { markedRecord } from "../../packages/api/src/reconcile/ownership-marker.js";

/** One container as the node's own files hold it, read without asking Lockstep. */
export interface NodeContainer {
  readonly node: string;
  readonly vmid: number;
  /** The record its marker names, or null for a container Lockstep did not make. */
  readonly record: string | null;
  readonly running: boolean;
  /** The config's `lock:` property, if any. */
  readonly lock: string | null;
}

/** Every container on a simulated node, from its config files and runtime state. */
export function nodeContainers(node: string, root: string): NodeContainer[] {
  const layout = simLayout(root);
  if (!existsSync(layout.lxcDir)) return [];
  return readdirSync(layout.lxcDir)
    .filter((f) => /^\d+\.conf$/.test(f))
    .map((file) => {
      const vmid = Number(file.slice(0, -".conf".length));
      const { main } = parseConfig(readFileSync(path.join(layout.lxcDir, file), "utf8"));
      const record = markedRecord((main.values.tags ?? "").split(";"), main.description);
      return { node, vmid, record, running: readRuntime(layout, vmid).running, lock: main.values.lock ?? null };
    });
}

/** Each node's log of `pct` calls, as its simulator wrote it. */
export function nodeCalls(roots: ReadonlyMap<string, string>): Map<string, CallRecord[]> {
  return new Map([...roots].map(([node, root]) => [node, readCalls(root)]));
}
