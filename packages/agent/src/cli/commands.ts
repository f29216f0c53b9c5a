import { randomUUID } from "node:crypto";
import { agentV1, type AgentClient } from "@lockstep/shared";
import { formatAge, formatBytes, formatPairs, formatTable } from "./format-table.js";

/** What a command prints: the JSON form for `--json`, the human form otherwise. */
export interface Output {
  readonly json: unknown;
  readonly text: string;
  /** Non-zero for a command whose result is a failure (e.g. exec's exit status). */
  readonly exitCode?: number;
}

export interface CommandInput {
  readonly client: AgentClient;
  readonly args: readonly string[];
  readonly options: {
    keepLast?: string;
    owner?: string;
    prefix?: string;
    removeFile?: boolean;
    requestId?: string;
    timeout?: string;
    vmid?: string[];
  };
}

const { LockVerdict, LockOwnerKind, ContainerStatus, OperationStatus, EventKind, ErrorReason } = agentV1;

/** Every command of `lockstep-node`, by its words. */
export const COMMANDS: Record<string, (input: CommandInput) => Promise<Output>> = {
  health: async ({ client }) => {
    const h = await client.getHealth({});
    return {
      json: agentV1.GetHealthResponse.toJSON(h),
      text: formatPairs([
        ["node", h.node],
        ["agent", h.agentVersion],
        ["pct", h.pctResponsive ? "responsive" : `UNRESPONSIVE: ${h.pctDetail}`],
        ["cpu", `${h.cpuPercent}%`],
        ["load", `${h.load1m.toFixed(2)} ${h.load5m.toFixed(2)} ${h.load15m.toFixed(2)}`],
        ["memory", `${formatBytes(h.memoryAvailableBytes)} available of ${formatBytes(h.memoryTotalBytes)}`],
        ...h.disks.map(
          (d) => [`disk ${d.mount}`, `${formatBytes(d.usedBytes)} used of ${formatBytes(d.totalBytes)}`] as const,
        ),
        ["uptime", formatAge(h.uptimeSeconds * 1000)],
      ]),
    };
  },
  "lock inspect": async ({ client, args }) => {
    const report = await client.inspectLock({ vmid: vmidArg(args[0]) });
    return { json: agentV1.LockReport.toJSON(report), text: lockReportText(report) };
  },
  "lock clear": async ({ client, args, options }) => {
    const res = await client.clearLock({
      vmid: vmidArg(args[0]),
      removeFile: options.removeFile ?? false,
      requestId: requestId(options),
    });
    const what = res.cleared ? `cleared stale lock '${res.previousLock}'` : "no stale lock to clear";
    return {
      json: agentV1.ClearLockResponse.toJSON(res),
      text: `${what}${res.fileRemoved ? "; lock file removed" : ""}${res.replayed ? " (replayed)" : ""}`,
    };
  },
  "ct list": async ({ client }) => {
    const { containers } = await client.listContainers({});
    const rows = containers.map((c) => [String(c.vmid), statusName(c.status), c.lock || "-", c.name, c.tags.join(";")]);
    return {
      json: containers.map((c) => agentV1.Container.toJSON(c)),
      text: containers.length ? formatTable(["VMID", "STATUS", "LOCK", "NAME", "TAGS"], rows) : "no containers",
    };
  },
  "ct show": async ({ client, args }) => {
    const res = await client.getContainer({ vmid: vmidArg(args[0]) });
    const c = res.container!;
    const pairs: [string, string][] = [
      ["vmid", String(c.vmid)],
      ["name", c.name],
      ["status", statusName(c.status)],
      ["lock", c.lock || "-"],
      ["tags", c.tags.join(";")],
    ];
    for (const [k, v] of Object.entries(c.config).sort())
      if (!["hostname", "lock", "tags"].includes(k)) pairs.push([k, v]);
    pairs.push(["snapshots", res.snapshots.map((s) => s.name).join(", ") || "-"]);
    return { json: agentV1.GetContainerResponse.toJSON(res), text: formatPairs(pairs) };
  },
  "snapshot list": async ({ client, args }) => {
    const { snapshots } = await client.listSnapshots({ vmid: vmidArg(args[0]) });
    const rows = snapshots.map((s) => [
      s.name,
      s.parent || "-",
      new Date(s.createdMs).toISOString(),
      s.description.split("\n")[0] ?? "",
    ]);
    return {
      json: snapshots.map((s) => agentV1.Snapshot.toJSON(s)),
      text: snapshots.length ? formatTable(["NAME", "PARENT", "CREATED", "DESCRIPTION"], rows) : "no snapshots",
    };
  },
  "snapshot prune": async ({ client, args, options }) => {
    const keepLast = Number(options.keepLast);
    if (options.keepLast === undefined || !Number.isInteger(keepLast) || keepLast < 0)
      throw new UsageError("snapshot prune needs --keep-last <n> (an integer >= 0)");
    const res = await client.pruneSnapshots({
      vmid: vmidArg(args[0]),
      keepLast,
      prefix: options.prefix ?? "lockstep",
      ownershipTag: ownerOption(options, "snapshot prune"),
      requestId: requestId(options),
    });
    const lines = [`deleted: ${res.deleted.join(", ") || "-"}`, `kept: ${res.kept.join(", ") || "-"}`];
    for (const f of res.failed) lines.push(`FAILED ${f.name}: ${reasonName(f.reason)} ${f.message}`);
    if (res.staleLockCleared) lines.push("cleared the lock a failed delete left behind");
    return {
      json: agentV1.PruneSnapshotsResponse.toJSON(res),
      text: lines.join("\n"),
      exitCode: res.failed.length ? 1 : 0,
    };
  },
  exec: async ({ client, args, options }) => {
    const [vmid, ...argv] = args;
    if (argv.length === 0) throw new UsageError("exec needs a command: lockstep-node exec <vmid> -- <cmd...>");
    const res = await client.exec(
      {
        vmid: vmidArg(vmid),
        argv,
        ownershipTag: ownerOption(options, "exec"),
        requestId: requestId(options),
        timeoutMs: options.timeout ? Number(options.timeout) : 0,
      },
      { timeoutMs: 35 * 60_000 },
    );
    return {
      json: agentV1.ExecResponse.toJSON(res),
      text: Buffer.from(res.stdout).toString() + Buffer.from(res.stderr).toString(),
      exitCode: res.exitCode,
    };
  },
  op: async ({ client, args }) => {
    if (!args[0]) throw new UsageError("op needs a request ID");
    const op = await client.getOperation({ requestId: args[0] });
    const pairs: [string, string][] = [
      ["request", op.requestId],
      ["method", op.method],
      ["vmid", String(op.vmid)],
      ["status", OperationStatus[op.status] ?? "?"],
      ["started", new Date(op.startedMs).toISOString()],
    ];
    if (op.finishedMs) pairs.push(["finished", new Date(op.finishedMs).toISOString()]);
    if (op.error) pairs.push(["error", `${reasonName(op.error.reason)}: ${op.error.message}`]);
    return { json: agentV1.OperationRecord.toJSON(op), text: formatPairs(pairs) };
  },
};

/** `events` streams until interrupted, so it is not a request/response command. */
export async function watchEvents(
  client: AgentClient,
  vmids: number[],
  json: boolean,
  signal: AbortSignal,
): Promise<void> {
  await client.watchEvents(
    { vmids },
    (e) => {
      const line = json
        ? JSON.stringify(agentV1.Event.toJSON(e))
        : `${new Date(e.atMs).toISOString()}  ${e.node}  ${e.vmid}  ${EventKind[e.kind]}  ${e.detail}`;
      process.stdout.write(`${line}\n`);
    },
    signal,
  );
}

/** A mistake in how the CLI was called. */
export class UsageError extends Error {}

function lockReportText(r: agentV1.LockReport): string {
  const pairs: [string, string][] = [
    ["vmid", String(r.vmid)],
    ["verdict", LockVerdict[r.verdict] ?? "?"],
    ["lock file", `${r.path} (${r.fileExists ? "exists" : "absent"})`],
    [
      "kernel lock",
      r.kernelLocked ? `held (recorded pid ${r.recordedPid}${r.recordedPidAlive ? "" : ", dead"})` : "none",
    ],
    ["config lock", r.configLock || "-"],
    ["owner", r.owner ? `${LockOwnerKind[r.ownerKind] ?? "?"}: ${r.owner}` : "-"],
  ];
  for (const h of r.holders)
    pairs.push(["holder", `pid ${h.pid} [${h.state}] ${h.cmdline} (for ${formatAge(r.inspectedAtMs - h.startedMs)})`]);
  for (const t of r.activeTasks) pairs.push(["task", `${t.type} pid ${t.pid} ${t.upid}`]);
  for (const l of r.otherKernelLocks)
    pairs.push(["other lock", `${l.kind} ${l.mode} pid ${l.pid} (does not block pct)`]);
  if (r.migrationLock?.locked)
    pairs.push([
      "migration lock",
      `${r.migrationLock.path} held by pid ${r.migrationLock.pid} ${r.migrationLock.cmdline}`,
    ]);
  return formatPairs(pairs);
}

/**
 * The `--owner` of a command that changes a container: the agent acts only on a container
 * carrying that tag (`lock clear` is the operator's act and takes none).
 */
function ownerOption(options: CommandInput["options"], command: string): string {
  if (!options.owner)
    throw new UsageError(
      `${command} needs --owner <tag>: the container's ownership tag (lockstep-<record id> for one the API manages)`,
    );
  return options.owner;
}

function statusName(status: agentV1.ContainerStatus): string {
  return status === ContainerStatus.RUNNING ? "running" : status === ContainerStatus.STOPPED ? "stopped" : "unknown";
}

function reasonName(reason: agentV1.ErrorReason): string {
  return ErrorReason[reason] ?? "UNKNOWN";
}

function vmidArg(value: string | undefined): number {
  if (!value || !/^\d+$/.test(value)) throw new UsageError(`expected a VMID, got ${JSON.stringify(value ?? "")}`);
  return Number(value);
}

function requestId(options: { requestId?: string }): string {
  return options.requestId ?? `cli-${randomUUID()}`;
}
