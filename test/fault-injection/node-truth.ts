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

/**
 * Every container on a simulated node: its configs from the cluster directory pmxcfs serves
 * (read there, never through the node's mount, which a pmxcfs fault may hold paused), its
 * runtime state from the node's root.
 */
export function nodeContainers(node: string, root: string, clusterDir: string): NodeContainer[] {
  const layout = simLayout(root);
  const lxcDir = path.join(clusterDir, "nodes", node, "lxc");
  if (!existsSync(lxcDir)) return [];
  return readdirSync(lxcDir)
    .filter((f) => /^\d+\.conf$/.test(f))
    .flatMap((file) => {
      const vmid = Number(file.slice(0, -".conf".length));
      const text = readIfThere(path.join(lxcDir, file));
      // Gone since the listing: destroyed, or moved to another node by a migration.
      if (text === null) return [];
      const { main } = parseConfig(text);
      const record = markedRecord((main.values.tags ?? "").split(";"), main.description);
      return [{ node, vmid, record, running: readRuntime(layout, vmid).running, lock: main.values.lock ?? null }];
    });
}

function readIfThere(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Each node's log of `pct` calls, as its simulator wrote it. */
export function nodeCalls(roots: ReadonlyMap<string, string>): Map<string, CallRecord[]> {
  return new Map([...roots].map(([node, root]) => [node, readCalls(root)]));
}
