import { reasonEnum } from "@lockstep/shared";
import { cloneContainer } from "../containers/clone-container.js";
import { getContainer, listContainers } from "../containers/container-reader.js";
import { createContainer } from "../containers/create-container.js";
import { destroyContainer } from "../containers/destroy-container.js";
import { setPower } from "../containers/power.js";
import { requireOwned } from "../containers/require-owned.js";
import { updateConfig } from "../containers/update-config.js";
import { execInContainer } from "../exec/exec-in-container.js";
import { ensureService } from "../files/ensure-service.js";
import { verifiedPush } from "../files/verified-push.js";
import { containerToProto, snapshotToProto, statusToProto } from "../grpc/to-proto.js";
import type { LockService } from "../grpc/ports.js";
import type { HostStatsSource } from "../health/host-stats.js";
import type { NodeProbe } from "../health/node-probe.js";
import { listClusterContainers, listClusterVms } from "../node/cluster-vms.js";
import { readClusterMembership } from "../node/cluster-membership.js";
import type { NodeContext } from "../node/node-context.js";
import { requireVmid } from "../node/require-valid.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { listSnapshots } from "../snapshots/list-snapshots.js";
import { pruneSnapshots } from "../snapshots/prune-snapshots.js";
import { createSnapshot, deleteSnapshot } from "../snapshots/snapshot-commands.js";
import type { MutatingName, ReadName, RequestOf, ResultOf } from "./operation-catalog.js";

export type ReadHandlers = { [N in ReadName]: (request: RequestOf<N>) => Promise<ResultOf<N>> };
export type MutatingHandlers = {
  [N in MutatingName]: (request: RequestOf<N>, op: OperationScope) => Promise<ResultOf<N>>;
};

export interface NodeOperationDeps {
  readonly ctx: NodeContext;
  readonly locks: LockService;
  readonly hostStats: HostStatsSource;
  readonly probe: () => Promise<NodeProbe>;
}

/** The reads of the node, each one allow-listed operation (operation-catalog.ts). */
export function nodeReads(deps: NodeOperationDeps): ReadHandlers {
  const { ctx } = deps;
  return {
    ProbeNode: () => deps.probe(),
    ReadHostStats: () => deps.hostStats.read(),
    ListContainers: async (req) => {
      const cluster = await readClusterMembership(ctx.clusterFs, ctx.paths.pveDir, ctx.node);
      return {
        containers: (await listContainers(ctx, req.includeConfig)).map(containerToProto),
        vms: await listClusterVms(ctx.paths, ctx.clusterFs),
        clusterContainers: await listClusterContainers(ctx.paths, ctx.clusterFs),
        clusterName: cluster.name,
        clusterMembers: [...cluster.members],
      };
    },
    GetContainer: async (req) => ({
      container: containerToProto(await getContainer(ctx, requireVmid(req.vmid))),
      snapshots: (await listSnapshots(ctx, req.vmid)).map(snapshotToProto),
    }),
    InspectLock: (req) => deps.locks.inspect(requireVmid(req.vmid)),
    ListSnapshots: async (req) => ({ snapshots: (await listSnapshots(ctx, req.vmid)).map(snapshotToProto) }),
  };
}

/**
 * The changes to the node, each one allow-listed operation. Every one but a create, a clone
 * and a lock clearance acts only on a container that carries the caller's ownership tag.
 */
export function nodeMutations(deps: NodeOperationDeps): MutatingHandlers {
  const { ctx } = deps;
  return {
    CreateContainer: async (req, op) => {
      const outcome = await createContainer(ctx, { ...req }, req.ownershipTag, op);
      return {
        replayed: false,
        container: containerToProto(outcome.container),
        alreadyExisted: outcome.alreadyExisted,
      };
    },
    CloneContainer: async (req, op) => {
      const outcome = await cloneContainer(ctx, { ...req }, req.ownershipTag, op);
      return {
        replayed: false,
        container: containerToProto(outcome.container),
        alreadyExisted: outcome.alreadyExisted,
      };
    },
    DestroyContainer: async (req, op) => ({
      replayed: false,
      ...(await destroyContainer(ctx, req.vmid, { force: req.force, purge: req.purge }, op, req.ownershipTag)),
    }),
    StartContainer: async (req, op) => {
      const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "start it");
      const { status, changed } = await setPower(ctx, req.vmid, "running", op, owner);
      return { replayed: false, status: statusToProto(status), changed };
    },
    StopContainer: async (req, op) => {
      const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "stop it");
      const { status, changed } = await setPower(ctx, req.vmid, "stopped", op, owner);
      return { replayed: false, status: statusToProto(status), changed };
    },
    UpdateConfig: async (req, op) => {
      const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "change its config");
      return {
        replayed: false,
        ...(await updateConfig(ctx, req.vmid, { set: req.set, remove: req.delete, lxc: req.lxc }, op, owner)),
      };
    },
    Exec: async (req, op) => {
      await requireOwned(ctx, req.vmid, req.ownershipTag, "run a command in it");
      const out = await execInContainer(ctx, req.vmid, req.argv, {
        timeoutMs: req.timeoutMs,
        stdin: Buffer.from(req.stdin),
        op,
      });
      return {
        replayed: false,
        exitCode: out.exitCode,
        stdout: Buffer.from(out.stdout),
        stderr: Buffer.from(out.stderr),
        stdoutTruncated: out.stdoutTruncated,
        stderrTruncated: out.stderrTruncated,
        durationMs: out.durationMs,
      };
    },
    PushFile: async (req, op) => {
      const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "push a file into it");
      const file = {
        vmid: req.vmid,
        path: req.path,
        content: Buffer.from(req.content),
        mode: req.mode,
        user: req.user,
        group: req.group,
      };
      return { replayed: false, ...(await verifiedPush(ctx, file, op, owner)) };
    },
    EnsureService: async (req, op) => {
      const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "install a service in it");
      const unit = {
        vmid: req.vmid,
        unit: req.unit,
        content: Buffer.from(req.unitContent),
        enable: req.enable,
        start: req.start,
      };
      return { replayed: false, ...(await ensureService(ctx, unit, op, owner)) };
    },
    CreateSnapshot: async (req, op) => {
      const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "snapshot it");
      return {
        replayed: false,
        snapshot: snapshotToProto(await createSnapshot(ctx, req.vmid, req.name, req.description, op, owner)),
      };
    },
    DeleteSnapshot: async (req, op) => {
      const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "delete its snapshot");
      return { replayed: false, ...(await deleteSnapshot(ctx, req.vmid, req.name, req.force, op, owner)) };
    },
    PruneSnapshots: async (req, op) => {
      const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "prune its snapshots");
      const out = await pruneSnapshots(ctx, req.vmid, req.keepLast, req.prefix, op, owner);
      return {
        replayed: false,
        deleted: out.deleted,
        kept: out.kept,
        staleLockCleared: out.staleLockCleared,
        failed: out.failed.map((f) => ({
          name: f.name,
          reason: reasonEnum(f.code as Parameters<typeof reasonEnum>[0]),
          message: f.message,
        })),
      };
    },
    ClearLock: async (req, op) => ({
      replayed: false,
      ...(await deps.locks.clear(requireVmid(req.vmid), req.removeFile, op)),
    }),
  };
}
