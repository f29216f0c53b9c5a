import path from "node:path";
import { ConfigBeingReplacedError, NotFoundError } from "../errors.js";
import { parseContainerConfig, parseTags, type ContainerConfig } from "../node/container-config.js";
import type { NodeContext } from "../node/node-context.js";
import { parseKeyValues, parseStatus } from "../pct/parse-key-values.js";
import { parsePctList } from "../pct/parse-list.js";
import type { PctResult } from "../pct/pct-runner.js";
import { runReportingUnresponsive, trustedFailure } from "../pct/pct-mutation.js";
import { runPctList } from "./pct-list.js";

/** A container as the node shows it. */
export interface ContainerView {
  readonly vmid: number;
  readonly name: string;
  readonly status: "running" | "stopped";
  readonly lock: string;
  readonly tags: string[];
  readonly description: string;
  readonly config: Record<string, string>;
}

/**
 * Every container on the node: status from `pct list`, tags and description from the configs.
 * Only while /etc/pve is trusted, before and after: `pct list` over an unmounted /etc/pve is
 * empty, and an empty list taken as truth would make every container "missing".
 */
export async function listContainers(ctx: NodeContext, includeConfig: boolean): Promise<ContainerView[]> {
  await ctx.clusterFs.requireTrusted("list the node's containers");
  const result = await runPctList(ctx, ctx.timeouts.readMs);
  if (result.exitCode !== 0) throw await trustedFailure(ctx, ["list"], result, 0);
  const rows = parsePctList(result.stdout);
  const views = await Promise.all(
    rows.map(async (row) => {
      const config = await readConfigFile(ctx, row.vmid);
      const main = config?.main;
      return {
        vmid: row.vmid,
        name: row.name,
        status: row.status,
        lock: row.lock,
        tags: parseTags(main?.values.tags),
        description: main?.description ?? "",
        config: includeConfig ? { ...(main?.values ?? {}) } : {},
      };
    }),
  );
  await ctx.clusterFs.requireTrusted("list the node's containers");
  return views;
}

/**
 * One container, through `pct config` and `pct status`; NOT_FOUND when it is not on the node,
 * which only a trusted /etc/pve can say.
 */
export async function getContainer(ctx: NodeContext, vmid: number): Promise<ContainerView> {
  const config = parseKeyValues((await readPct(ctx, vmid, "config")).stdout);
  const status = await readStatus(ctx, vmid);
  return {
    vmid,
    name: config.hostname ?? `CT${vmid}`,
    status,
    lock: config.lock ?? "",
    tags: parseTags(config.tags),
    description: config.description ?? "",
    config,
  };
}

/** `pct status`, as running or stopped. */
export async function readStatus(ctx: NodeContext, vmid: number): Promise<"running" | "stopped"> {
  return parseStatus((await readPct(ctx, vmid, "status")).stdout);
}

/** A reading `pct` call, made a second time when it caught the config being replaced. */
async function readPct(ctx: NodeContext, vmid: number, command: "config" | "status"): Promise<PctResult> {
  for (let look = 1; ; look++) {
    const result = await runReportingUnresponsive(ctx, vmid, [command, String(vmid)], {
      timeoutMs: ctx.timeouts.readMs,
    });
    if (result.exitCode === 0) return result;
    const failure = await trustedFailure(ctx, [command], result, vmid);
    if (!(failure instanceof ConfigBeingReplacedError) || look === 2) throw failure;
  }
}

/**
 * The config file itself, read directly (as Proxmox's own tools read /etc/pve): the only
 * place snapshot sections and their exact times are visible. Null when there is none, which
 * the cluster filesystem's port answers only while /etc/pve is mounted and quorate; otherwise
 * HYPERVISOR_UNRESPONSIVE or CLUSTER_NO_QUORUM, never "gone".
 */
export async function readConfigFile(ctx: NodeContext, vmid: number): Promise<ContainerConfig | null> {
  const text = await ctx.clusterFs.readFile(path.join(ctx.paths.configDir, `${vmid}.conf`));
  return text === null ? null : parseContainerConfig(text);
}

/** The config file, or NOT_FOUND. */
export async function requireConfigFile(ctx: NodeContext, vmid: number): Promise<ContainerConfig> {
  const config = await readConfigFile(ctx, vmid);
  if (!config) throw new NotFoundError(`CT ${vmid} does not exist on this node`, { vmid: String(vmid) });
  return config;
}
