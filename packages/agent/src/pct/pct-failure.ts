import type { LockstepError } from "@lockstep/shared";
import {
  AlreadyExistsError,
  ClusterNoQuorumError,
  CommandFailedError,
  FailedPreconditionError,
  HypervisorUnresponsiveError,
  InvalidArgumentError,
  NotFoundError,
  NotRunningError,
} from "../errors.js";
import type { PctResult } from "./pct-runner.js";

/** The metadata reason of a NOT_FOUND that is pct's "Configuration file ... does not exist". */
export const NO_CONFIG = "no-config";

/** Proxmox's own texts (see shared/docs/proxmox.md), each with what it means for Lockstep. */
const KNOWN_FAILURES: {
  pattern: RegExp;
  toError: (m: RegExpExecArray, vmid: number, stderr: string) => LockstepError;
}[] = [
  // pve-common RESTEnvironment.pm tee_worker: the task worker ended without its control
  // message (killed, OOM): whatever it had done stays, nothing was cleaned up. Outcome unknown.
  {
    pattern: /got unexpected control message/,
    toError: (_m, vmid, stderr) =>
      new HypervisorUnresponsiveError(
        `the task worker of CT ${vmid} died without reporting its outcome (${firstLine(stderr)}); its outcome is unknown`,
        { vmid: String(vmid), reason: "task-worker-died" },
      ),
  },
  // pve-cluster src/PVE/Cluster.pm check_cfs_quorum (also what a stopped pmxcfs gives: no
  // /etc/pve/local to lstat) and check_cfs_is_mounted: the cluster filesystem, not the command,
  // failed; nothing was done and a later attempt may succeed.
  {
    pattern: /cluster not ready - no quorum\?/,
    toError: (_m, vmid, stderr) =>
      new ClusterNoQuorumError(
        `CT ${vmid}: ${firstLine(stderr)} (the node's /etc/pve has no quorum or pmxcfs is not running)`,
        { vmid: String(vmid) },
      ),
  },
  {
    pattern: /pve configuration filesystem \(pmxcfs\) not mounted/,
    toError: (_m, vmid, stderr) =>
      new HypervisorUnresponsiveError(`CT ${vmid}: ${firstLine(stderr)}`, {
        vmid: String(vmid),
        cluster_fs: "not-mounted",
      }),
  },
  // pmxcfs stopped before pct started: the CLI's own set-up could not read the cluster's data
  // over IPC (pve-common RESTEnvironment.pm setup_default_cli_env, pve-cluster IPCC.xs); no
  // command ran. Retryable once pmxcfs runs again.
  {
    pattern: /Unable to load access control list: (.*)/,
    toError: (m, vmid) =>
      new HypervisorUnresponsiveError(
        `CT ${vmid}: pct could not start: pmxcfs did not answer (${m[1]}); nothing was done`,
        { vmid: String(vmid), cluster_fs: "not-running" },
      ),
  },
  // pmxcfs stopped or died under a running pct: a config read's IPC was refused (Cluster.pm
  // ipcc_get_config dies with `$!` alone) or a write found no /etc/pve beneath it (pve-common
  // File.pm file_set_contents). pct got part of the way and its cleanup met the same wall: what
  // it did is unknown until /etc/pve is back and the node is read again.
  {
    pattern:
      /^Connection refused$|unable to open file '[^']*\/etc\/pve\/[^']*' - (?:No such file or directory|Transport endpoint is not connected)/m,
    toError: (_m, vmid, stderr) =>
      new HypervisorUnresponsiveError(
        `CT ${vmid}: the cluster filesystem went away while pct ran (${firstLine(stderr)}); what it did is unknown`,
        { vmid: String(vmid), cluster_fs: "lost", reason: "cluster-fs-lost" },
      ),
  },
  // pve-common src/PVE/Tools.pm file_set_contents on a read-only /etc/pve: pmxcfs refuses every
  // change without quorum with EACCES (pve-cluster src/pmxcfs/dcdb.c dcdb_send_fuse_message).
  {
    pattern: /unable to open file '[^']*\/(?:lxc|qemu-server)\/\d+\.conf\.tmp\.\d+' - Permission denied/,
    toError: (_m, vmid, stderr) =>
      new ClusterNoQuorumError(`CT ${vmid}: ${firstLine(stderr)} (/etc/pve is read-only: no quorum)`, {
        vmid: String(vmid),
      }),
  },
  {
    pattern: /Configuration file '[^']*' does not exist/,
    toError: (_m, vmid) =>
      new NotFoundError(`CT ${vmid} does not exist on this node`, { vmid: String(vmid), reason: NO_CONFIG }),
  },
  // pve-cluster src/PVE/Cluster.pm, check_vmid_unused: `VM` for a QEMU VM, `CT` for a container;
  // either way someone else's guest holds the VMID cluster-wide.
  {
    pattern: /(CT|VM) (\d+) already exists on node '([^']+)'/,
    toError: (m, vmid) =>
      new AlreadyExistsError(`${m[1]} ${vmid} already exists on node '${m[3]}'`, {
        vmid: String(vmid),
        node: m[3]!,
        guest_type: m[1] === "VM" ? "qemu" : "lxc",
      }),
  },
  {
    pattern: /snapshot '([^']+)' does not exist/,
    toError: (m, vmid) =>
      new NotFoundError(`snapshot '${m[1]}' of CT ${vmid} does not exist`, { vmid: String(vmid), snapshot: m[1]! }),
  },
  {
    pattern: /snapshot name '([^']+)' already used/,
    toError: (m, vmid) =>
      new AlreadyExistsError(`snapshot '${m[1]}' of CT ${vmid} already exists`, {
        vmid: String(vmid),
        snapshot: m[1]!,
      }),
  },
  {
    pattern: /container '?\d+'? not running|can only push files to a running CT|CT \d+ not running/,
    toError: (_m, vmid, stderr) => new NotRunningError(vmid, `CT ${vmid} is not running: ${firstLine(stderr)}`),
  },
  // pve-container src/PVE/API2/LXC.pm, destroy_vm: an HA resource is removed only with --purge.
  {
    pattern: /used in HA resources and purge parameter not set/,
    toError: (_m, vmid, stderr) =>
      new FailedPreconditionError(
        `CT ${vmid} is HA-managed; destroying it needs purge (it is then removed from the HA resources): ${firstLine(stderr)}`,
        { vmid: String(vmid), ha_managed: "true" },
      ),
  },
  {
    pattern: /protection mode enabled/,
    toError: (_m, vmid, stderr) => new FailedPreconditionError(firstLine(stderr), { vmid: String(vmid) }),
  },
  {
    pattern: /container is running/,
    toError: (_m, vmid, stderr) => new FailedPreconditionError(firstLine(stderr), { vmid: String(vmid) }),
  },
  {
    pattern: /^400 /m,
    toError: (_m, _vmid, stderr) =>
      new InvalidArgumentError("pct", `refused the arguments: ${stderr.trim().replace(/\s*\n\s*/g, "; ")}`),
  },
];

/** Lock contention that waiting may resolve: the flock timed out, or a `lock:` property is set. */
const LOCK_TIMEOUT = /can't lock file '([^']+)' - got timeout/;
const CONFIG_LOCKED = /CT is locked \(([^)]+)\)/;
/**
 * delsnapshot also takes the guest migration lock, which replication holds while it runs, and
 * words its timeout so (pve-container API2/LXC/Snapshot.pm delsnapshot, around
 * pve-guest-common GuestHelpers.pm guest_migration_lock): contention, not a failure of the
 * command. rollback takes the same lock and reports the plain LOCK_TIMEOUT text for it.
 */
const MIGRATION_LOCKED = /Failed to obtain guest migration lock - replication running\?/;

const CONTENTION = [LOCK_TIMEOUT, CONFIG_LOCKED, MIGRATION_LOCKED];

/** Whether a failed `pct` call lost to someone else's lock. */
export function isLockContention(result: PctResult): boolean {
  return CONTENTION.some((pattern) => pattern.test(result.stderr));
}

/** Proxmox's own words for the lock a failed `pct` call lost to, or its whole stderr. */
export function contentionText(stderr: string): string {
  for (const pattern of CONTENTION) {
    const m = pattern.exec(stderr);
    if (m) return m[0];
  }
  return stderr.trim();
}

/** The domain error for a failed `pct` call: a known Proxmox text, or the command's failure as is. */
export function pctFailure(args: readonly string[], result: PctResult, vmid: number): LockstepError {
  for (const known of KNOWN_FAILURES) {
    const match = known.pattern.exec(result.stderr);
    if (match) return known.toError(match, vmid, result.stderr);
  }
  return new CommandFailedError(
    `pct ${args[0]} ${vmid} failed (exit ${result.exitCode}): ${firstLine(result.stderr) || "no message"}`,
    result.exitCode,
    result.stderr,
    {
      vmid: String(vmid),
      command: args[0] ?? "",
    },
  );
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && l !== "trying to acquire lock..." && !l.endsWith(" OK"))[0] ?? ""
  );
}
