import { readFile } from "node:fs/promises";
import path from "node:path";
import { NotFoundError } from "../errors.js";
import { parseContainerConfig, parseTags, type ContainerConfig } from "../node/container-config.js";
import type { NodeContext } from "../node/node-context.js";
import { parseKeyValues, parseStatus } from "../pct/parse-key-values.js";
import { parsePctList } from "../pct/parse-list.js";
import { pctFailure } from "../pct/pct-failure.js";
import { runReportingUnresponsive } from "../pct/pct-mutation.js";
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

/** Every container on the node: status from `pct list`, tags and description from the configs. */
export async function listContainers(ctx: NodeContext, includeConfig: boolean): Promise<ContainerView[]> {
  const result = await runPctList(ctx, ctx.timeouts.readMs);
  if (result.exitCode !== 0) throw pctFailure(["list"], result, 0);
  const rows = parsePctList(result.stdout);
  return Promise.all(
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
}

/** One container, through `pct config` and `pct status`; NOT_FOUND when it is not on the node. */
export async function getContainer(ctx: NodeContext, vmid: number): Promise<ContainerView> {
  const configResult = await runReportingUnresponsive(ctx, vmid, ["config", String(vmid)], { timeoutMs: ctx.timeouts.readMs });
  if (configResult.exitCode !== 0) throw pctFailure(["config"], configResult, vmid);
  const config = parseKeyValues(configResult.stdout);
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
  const result = await runReportingUnresponsive(ctx, vmid, ["status", String(vmid)], { timeoutMs: ctx.timeouts.readMs });
  if (result.exitCode !== 0) throw pctFailure(["status"], result, vmid);
  return parseStatus(result.stdout);
}

/**
 * The config file itself, read directly (as Proxmox's own tools read /etc/pve): the only
 * place snapshot sections and their exact times are visible. Null when there is none.
 */
export async function readConfigFile(ctx: NodeContext, vmid: number): Promise<ContainerConfig | null> {
  try {
    return parseContainerConfig(await readFile(path.join(ctx.paths.configDir, `${vmid}.conf`), "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** The config file, or NOT_FOUND. */
export async function requireConfigFile(ctx: NodeContext, vmid: number): Promise<ContainerConfig> {
  const config = await readConfigFile(ctx, vmid);
  if (!config) throw new NotFoundError(`CT ${vmid} does not exist on this node`, { vmid: String(vmid) });
  return config;
}
