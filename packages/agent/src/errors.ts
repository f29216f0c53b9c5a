import { DETAIL_REASON, LockstepError, type PolicyRule } from "@lockstep/shared";

/** A live process or an active task holds the container's config lock, and waiting did not help. */
export class LockHeldError extends LockstepError {
  constructor(
    readonly vmid: number,
    message: string,
    metadata: Record<string, string> = {},
  ) {
    super("LOCK_HELD", message, { vmid: String(vmid), ...metadata });
  }
}

/**
 * `pct` did not finish in time or did not answer a probe. The outcome of the call is unknown:
 * callers re-read the node's state before deciding anything and never roll back because of it.
 */
export class HypervisorUnresponsiveError extends LockstepError {
  constructor(message: string, metadata: Record<string, string> = {}) {
    super("HYPERVISOR_UNRESPONSIVE", message, metadata);
  }
}

/**
 * The node's cluster filesystem is read-only because its node has no quorum (pve-cluster
 * src/PVE/Cluster.pm check_cfs_quorum: `cluster not ready - no quorum?`): nothing was changed,
 * and nothing missing from /etc/pve is taken as gone. Retry once the cluster is quorate.
 */
export class ClusterNoQuorumError extends LockstepError {
  constructor(message: string, metadata: Record<string, string> = {}) {
    super("CLUSTER_NO_QUORUM", message, { cluster_fs: "no-quorum", ...metadata });
  }
}

/** The container (or snapshot, or request record) does not exist on this node. */
export class NotFoundError extends LockstepError {
  constructor(message: string, metadata: Record<string, string> = {}) {
    super("NOT_FOUND", message, metadata);
  }
}

/** A request ID came back with different parameters than the first time. */
export class RequestIdReusedError extends LockstepError {
  constructor(
    readonly requestId: string,
    message = `request ID '${requestId}' was already used for a different request`,
  ) {
    super("REQUEST_ID_REUSED", message, { request_id: requestId });
  }
}

/** A request field breaks a rule; `field` names it. */
export class InvalidArgumentError extends LockstepError {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super("INVALID_ARGUMENT", `${field} ${reason}`, { field });
  }
}

/** The container exists already (and is not this request's own). */
export class AlreadyExistsError extends LockstepError {
  constructor(message: string, metadata: Record<string, string> = {}) {
    super("ALREADY_EXISTS", message, metadata);
  }
}

/** The container is not in a state that allows the operation: stopped, stale-locked, protected. */
export class FailedPreconditionError extends LockstepError {
  constructor(message: string, metadata: Record<string, string> = {}) {
    super("FAILED_PRECONDITION", message, metadata);
  }
}

/** The container is stopped and the step needs it running. */
export class NotRunningError extends FailedPreconditionError {
  constructor(vmid: number, message = `CT ${vmid} is not running`) {
    super(message, { vmid: String(vmid), reason: DETAIL_REASON.notRunning });
  }
}

/** `pct`, or a command inside the container, failed; its exit status and stderr are kept. */
export class CommandFailedError extends LockstepError {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly stderr: string,
    metadata: Record<string, string> = {},
  ) {
    super("COMMAND_FAILED", message, { exit_code: String(exitCode), ...metadata });
  }
}

/** A pushed file or a service never reached the expected state inside the container. */
export class VerificationFailedError extends LockstepError {
  constructor(message: string, metadata: Record<string, string> = {}) {
    super("VERIFICATION_FAILED", message, metadata);
  }
}

/** The agent stopped while this request was running; retrying with the same ID converges. */
export class InterruptedError extends LockstepError {
  constructor(
    readonly requestId: string,
    message: string,
  ) {
    super("INTERRUPTED", message, { request_id: requestId });
  }
}

/** The agent is shutting down and takes no new work. */
export class UnavailableError extends LockstepError {
  constructor(message: string) {
    super("UNAVAILABLE", message);
  }
}

/**
 * `pct` found no config that is there now: it looked while pmxcfs was replacing it (see
 * node/cluster-fs.ts, libfuse hide_node). Nothing is missing; the call is tried again.
 */
export class ConfigBeingReplacedError extends LockstepError {
  constructor(vmid: number, command: string) {
    super(
      "UNAVAILABLE",
      `pct ${command} ${vmid} found no config while /etc/pve was replacing it; it is there now, try again`,
      { vmid: String(vmid), reason: "config-being-replaced" },
    );
  }
}

/** A size or rate bound was exceeded. */
export class ResourceExhaustedError extends LockstepError {
  constructor(message: string, metadata: Record<string, string> = {}) {
    super("RESOURCE_EXHAUSTED", message, metadata);
  }
}

/** The client's certificate is from the cluster CA but not one of the names this agent lets in. */
export class ClientNotAllowedError extends LockstepError {
  constructor(names: readonly string[]) {
    super(
      "PERMISSION_DENIED",
      `client certificate ${names.length ? `'${names.join("', '")}'` : "without a name"} is not allowed on this agent (tlsAllowedClients)`,
    );
  }
}

/**
 * The node's own policy (`policyFile`) refuses what the request would make a container: a
 * privileged one, a feature flag, a host mount... Thrown before anything runs (no `pct`, no
 * intent, no lock taken), so a retry with the same request ID is checked again, not replayed.
 * `rule` and `field` are the first violation's; `rules` names them all when there are several.
 */
export class PermissionDeniedError extends LockstepError {
  constructor(
    readonly rule: PolicyRule,
    readonly field: string,
    readonly vmid: number,
    detail: string,
    readonly rules: readonly PolicyRule[] = [rule],
  ) {
    super("PERMISSION_DENIED", `refused by the node policy (rule ${rule}): ${detail} (field ${field})`, {
      rule,
      field,
      vmid: String(vmid),
      ...(rules.length > 1 ? { rules: rules.join(",") } : {}),
    });
  }
}

/**
 * A start or stop returned but the container did not reach the state asked for within the
 * power timeout: for an HA-managed container `pct` only hands the request to the HA manager
 * (pve-container src/PVE/API2/LXC/Status.pm, vm_start / vm_stop), which may act later or not.
 */
export class PowerStateNotReachedError extends VerificationFailedError {
  constructor(vmid: number, wanted: string, observed: string, waitedMs: number) {
    super(`CT ${vmid} is still ${observed}, not ${wanted}, ${waitedMs} ms after the request`, {
      vmid: String(vmid),
      wanted,
      observed,
      ha_managed: "false",
      reason: "power-state-not-reached",
    });
  }
}

/**
 * An HA-managed container not yet in the state asked for: `pct` handed the request to the HA
 * manager, which holds it and acts in its own rounds (later still while it relocates the
 * container). Not a failure: a retry with the same request ID asks again (the HA request is
 * idempotent) and looks again.
 */
export class HaRequestPendingError extends LockstepError {
  constructor(vmid: number, wanted: string, observed: string, waitedMs: number) {
    super(
      "UNAVAILABLE",
      `CT ${vmid} is still ${observed}, not ${wanted}, ${waitedMs} ms after the request; the HA manager has the request and has not acted on it yet`,
      {
        vmid: String(vmid),
        wanted,
        observed,
        ha_managed: "true",
        reason: "ha-request-pending",
      },
    );
  }
}

/**
 * A `pct` call was killed (its timeout, an agent stop) but the Proxmox task worker it started
 * lives on (pve-common RESTEnvironment.pm fork_worker: the worker calls setsid, so a kill of
 * pct does not reach it). The operation is still running, not failed. `ended` settles when
 * the worker is gone: the VMID stays serialized until then (serial/vmid-serializer.ts).
 */
export class OperationRunningError extends LockstepError {
  constructor(
    message: string,
    readonly upid: string,
    readonly ended: Promise<void>,
    metadata: Record<string, string> = {},
  ) {
    super("OPERATION_RUNNING", message, { upid, ...metadata });
  }
}

/**
 * The container does not carry the request's ownership tag (among its tags, or as the marker
 * line of its description): it is not the record's, so the agent does nothing to it.
 */
export class ForeignContainerError extends LockstepError {
  constructor(vmid: number, node: string, ownershipTag: string, what: string) {
    super(
      "FOREIGN_CONTAINER",
      `CT ${vmid} on node '${node}' does not carry ownership tag '${ownershipTag}' (neither among its tags nor as its description's marker): it is not this record's container; refusing to ${what}`,
      { vmid: String(vmid), node, ownership_tag: ownershipTag },
    );
  }
}

/** The agent's state directory is full (ENOSPC, EDQUOT): a request could not be recorded durably. */
export class StateStorageFullError extends LockstepError {
  constructor(message: string, metadata: Record<string, string> = {}) {
    super("STATE_STORAGE_FULL", message, metadata);
  }
}
