import { createHash, randomUUID } from "node:crypto";
import type { AgentClient } from "../grpc/agent-client.js";
import type { ResolvedSpec } from "../spec/container-spec.js";
import type { Clock } from "../time/clock.js";
import type { StepRecord } from "./step-record.js";

/** The agent calls a pipeline makes: the one boundary between a pipeline and its node. */
export type NodeAgentPort = Pick<
  AgentClient,
  | "getContainer"
  | "inspectLock"
  | "createContainer"
  | "cloneContainer"
  | "updateConfig"
  | "startContainer"
  | "stopContainer"
  | "exec"
  | "pushFile"
  | "ensureService"
  | "createSnapshot"
  | "pruneSnapshots"
>;

/** Lockstep's snapshots start with this; pruning touches no other snapshot. */
export const SNAPSHOT_PREFIX = "lockstep-";

export interface PipelineInput {
  readonly agent: NodeAgentPort;
  readonly vmid: number;
  readonly spec: ResolvedSpec;
  /** The marker that makes the container this record's own (see CreateContainerRequest). */
  readonly ownershipTag: string;
  /**
   * Stable for one job across all its attempts and processes: every mutating agent call's
   * request ID is derived from it, so a retry reaches the agent as the same request.
   */
  readonly requestIdBase: string;
  readonly keepLast: number;
  /** Steps recorded by earlier attempts of the same job. */
  readonly history: readonly StepRecord[];
  readonly attempt: number;
  readonly clock: Clock;
}

/** What every step sees: the input plus what earlier steps of this run found. */
export class PipelineContext {
  /** Config keys changed in this job that take effect only when the container restarts. */
  readonly restartKeys = new Set<string>();
  /** The container was running before this job changed its configuration. */
  wasRunning = false;
  /** This job created the container (a replayed create says so too): nothing to restart. */
  createdByThisJob = false;
  /** Every step's record so far: earlier attempts' merged with this run's. */
  steps: StepRecord[];

  constructor(readonly input: PipelineInput) {
    this.steps = [...input.history];
  }

  /** Whether any step of this job, in any attempt, changed something. */
  changedSoFar(): boolean {
    return this.steps.some((s) => s.changed);
  }

  get agent(): NodeAgentPort {
    return this.input.agent;
  }

  get vmid(): number {
    return this.input.vmid;
  }

  get spec(): ResolvedSpec {
    return this.input.spec;
  }

  /** The record's tag: every change to the container carries it, and the agent refuses a container without it. */
  get ownershipTag(): string {
    return this.input.ownershipTag;
  }

  /** The request ID of a change: the same in every attempt of this job. */
  requestId(...parts: string[]): string {
    return [this.input.requestIdBase, ...parts].join(":");
  }

  /** The request ID of a check (a guard, a probe): new each time, because its answer may change. */
  probeId(...parts: string[]): string {
    return [this.input.requestIdBase, ...parts, randomUUID().slice(0, 8)].join(":");
  }

  /** The final snapshot's name: derived from the job alone, so a retry finds it. */
  snapshotName(): string {
    return `${SNAPSHOT_PREFIX}${shortHash(this.input.requestIdBase)}`;
  }
}

/** A short, stable stand-in for a user-chosen name inside a request ID (which is bounded). */
export function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}
