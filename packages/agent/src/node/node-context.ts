import type { Policy } from "@lockstep/shared";
import type { OperationIntents } from "../dedup/operation-intents.js";
import type { MutationDeps } from "../pct/pct-mutation.js";
import type { ProcReader } from "../proc/proc-reader.js";
import type { ClusterFsPort } from "./cluster-fs.js";
import type { NodePaths } from "./node-paths.js";

/** Timeouts of `pct` calls, by kind of work. */
export interface PctTimeouts {
  readonly readMs: number;
  readonly createMs: number;
  readonly destroyMs: number;
  readonly powerMs: number;
  readonly snapshotMs: number;
  readonly pushMs: number;
  readonly execDefaultMs: number;
  readonly execMaxMs: number;
}

/** How a pushed file is read back until it is really there. */
export interface VerifyPolicy {
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export interface NodeLimits {
  readonly execOutputBytes: number;
  readonly pushBytes: number;
}

/** Everything an operation on the node needs, built once by the daemon. */
export interface NodeContext extends MutationDeps {
  readonly paths: NodePaths;
  readonly timeouts: PctTimeouts;
  readonly verify: VerifyPolicy;
  readonly limits: NodeLimits;
  /** Private directory for files staged before `pct push`. */
  readonly stagingDir: string;
  /** Durable intents of creates and destroys, to prove their leftovers Lockstep's own. */
  readonly intents: OperationIntents;
  /** The node's processes: which task workers still run. */
  readonly proc: ProcReader;
  /** The only way to /etc/pve: reads with a timeout, and whether a missing file is gone. */
  readonly clusterFs: ClusterFsPort;
  /** What the node's owner allows a request to make (`policyFile`), checked again here whatever the API checked. */
  readonly policy: Policy;
}
