import path from "node:path";
import type { Clock, LockstepError, Logger } from "@lockstep/shared";
import {
  ClusterNoQuorumError,
  ConfigBeingReplacedError,
  HypervisorUnresponsiveError,
  LockHeldError,
} from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { LockReportView } from "../locks/lock-report.js";
import { contentionText, isLockContention, NO_CONFIG, pctFailure } from "./pct-failure.js";
import type { OperationScope } from "./operation-scope.js";
import type { PctResult, PctRunner } from "./pct-runner.js";

/** Whom a lock check acts for. */
export interface GateOptions {
  /** The request the check acts for: named in what it publishes; its signal ends a wait. */
  readonly op?: OperationScope;
  /** The ownership tag the caller acts for: a STALE lock is cleared only on a container carrying it. */
  readonly owner?: string;
  /** A `lock:` value the caller's own failed `pct` call has just left: cleared once nothing owns it. */
  readonly leftover?: string;
}

/** The pre-flight lock check: returns once the container's lock is free, or throws LOCK_HELD. */
export interface LockGate {
  ensureFree(vmid: number, options: GateOptions): Promise<unknown>;
  /** Waits out a HELD lock and returns the FREE or STALE report, clearing nothing. */
  settle(vmid: number, options: GateOptions): Promise<LockReportView>;
}

/** What every mutating `pct` call needs. */
export interface MutationDeps {
  readonly node: string;
  readonly pct: PctRunner;
  readonly gate: LockGate;
  readonly events: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How many times a call that lost to someone else's lock is tried again. */
  readonly lockRetries: number;
  /** /etc/pve's port: a failure is `pct`'s answer only while /etc/pve is trusted (see trustedFailure). */
  readonly clusterFs: { requireTrusted(what: string): Promise<void>; readFile(file: string): Promise<string | null> };
  readonly paths: { readonly configDir: string };
}

export interface MutationOptions {
  /** The request the call is made for: its signal stops the call and its lock waits. */
  readonly op?: OperationScope;
  readonly timeoutMs?: number;
  readonly stdin?: Buffer;
  readonly maxOutputBytes?: number;
  /** The ownership tag the call acts for (see GateOptions). */
  readonly owner?: string;
}

/**
 * Runs one mutating `pct` call the safe way: a pre-flight lock check before EVERY attempt
 * (not only after a failure), a bounded retry when `pct` itself loses to a lock, and an
 * unresponsive hypervisor reported upward as it is — nothing is rolled back because of it.
 * Resolves with the result of a call that exited 0; any other outcome is a typed error.
 */
export async function runMutation(
  deps: MutationDeps,
  vmid: number,
  args: readonly string[],
  options: MutationOptions = {},
): Promise<PctResult> {
  for (let attempt = 0; ; attempt++) {
    await deps.gate.ensureFree(vmid, { op: options.op, owner: options.owner });
    const result = await runReportingUnresponsive(deps, vmid, args, options);
    if (result.exitCode === 0) return result;
    if (!isLockContention(result)) throw await trustedFailure(deps, args, result, vmid);
    if (attempt >= deps.lockRetries) throw contentionError(vmid, args, result);
    (options.op?.logger ?? deps.logger).warn("pct lost to a lock; checking the holder before trying again", {
      vmid,
      command: args[0],
      attempt: attempt + 1,
    });
  }
}

/**
 * `pct`'s failure as Proxmox worded it, unless /etc/pve is not trusted now (pmxcfs stopped,
 * hung or without quorum under the call): then the failure may be the outage's, not the
 * command's answer (a config "does not exist" on an empty /etc/pve), and the outage's error is
 * returned instead: retryable, never stored as the request's definite outcome. A config pct
 * found missing that a second look finds is ConfigBeingReplacedError, retryable too.
 */
export async function trustedFailure(
  deps: Pick<MutationDeps, "clusterFs" | "paths">,
  args: readonly string[],
  result: PctResult,
  vmid: number,
): Promise<LockstepError> {
  const failure = pctFailure(args, result, vmid);
  if (failure instanceof HypervisorUnresponsiveError || failure instanceof ClusterNoQuorumError) return failure;
  try {
    // The port answers "missing" only while /etc/pve is trusted, after its own second look.
    if (failure.metadata.reason !== NO_CONFIG)
      await deps.clusterFs.requireTrusted(
        `take the failure of pct ${args[0]} ${vmid} as its answer (${failure.message})`,
      );
    else if ((await deps.clusterFs.readFile(path.join(deps.paths.configDir, `${vmid}.conf`))) !== null)
      return new ConfigBeingReplacedError(vmid, args[0] ?? "");
  } catch (outage) {
    return outage as LockstepError;
  }
  return failure;
}

/** A `pct` call outside the lock discipline (reads, exec), still reporting an unresponsive node. */
export async function runReportingUnresponsive(
  deps: Pick<MutationDeps, "pct" | "events" | "node" | "clock" | "logger">,
  vmid: number,
  args: readonly string[],
  options: MutationOptions = {},
): Promise<PctResult> {
  try {
    return await deps.pct.run(args, {
      timeoutMs: options.timeoutMs,
      signal: options.op?.signal,
      stdin: options.stdin,
      maxOutputBytes: options.maxOutputBytes,
    });
  } catch (err) {
    if (err instanceof HypervisorUnresponsiveError) {
      deps.events.publish({
        atMs: deps.clock.now(),
        node: deps.node,
        vmid,
        kind: "hypervisor-unresponsive",
        detail: err.message,
        requestId: options.op?.requestId,
      });
    }
    throw err;
  }
}

function contentionError(vmid: number, args: readonly string[], result: PctResult): LockHeldError {
  const what = contentionText(result.stderr);
  return new LockHeldError(vmid, `pct ${args[0]} ${vmid} kept losing to a lock: ${what}`);
}
