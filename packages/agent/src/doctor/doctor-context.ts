import path from "node:path";
import { readPmxcfsState } from "@lockstep/sim";
import type { Clock, Logger } from "@lockstep/shared";
import type { AgentConfig } from "../config/agent-config.js";
import { configuredClusterFs, configuredPctRunner } from "../config/configured-node-io.js";
import type { ClusterFs } from "../node/cluster-fs.js";
import type { NodePaths } from "../node/node-paths.js";
import { pctEnvironment } from "../pct/pct-environment.js";
import type { PctRunner } from "../pct/pct-runner.js";
import { realProcReader, type ProcReader } from "../proc/proc-reader.js";
import { PROXMOX_TOOLS, SIMULATED_TOOLS, type NodeTools } from "./node-tools.js";
import { toolRunner, type ToolRunner } from "./tool-runner.js";

/** A storage the agent needs, and the content it must hold there. */
export interface WantedStorage {
  readonly id: string;
  /** `rootdir` for containers' root filesystems, `vztmpl` for templates. */
  readonly content: "rootdir" | "vztmpl";
}

/** What the doctor is asked to look at, beyond the agent's configuration. */
export interface DoctorOptions {
  /** Bound on each check (a tool is killed at it). */
  readonly timeoutMs: number;
  readonly storages: readonly WantedStorage[];
}

/** Everything a check may use: the agent's own ports and parsers, built as the daemon builds them. */
export interface DoctorContext {
  readonly config: AgentConfig;
  readonly paths: NodePaths;
  readonly tools: NodeTools;
  readonly options: DoctorOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The agent's one port to /etc/pve. */
  readonly clusterFs: ClusterFs;
  /** The agent's `pct` runner. */
  readonly pct: PctRunner;
  /** Runs a node tool with the environment `pct` gets. */
  readonly runTool: ToolRunner;
  /** The node's /proc (`procRoot`); throws when it cannot be read, as the agent could not start. */
  proc(): ProcReader;
  /** Runs `work` once per key and shares its answer among the checks that need it. */
  once<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** A simulated node's own facts; null on a real node. */
  readonly simulated: { readonly root: string; pmxcfsServed(): boolean } | null;
}

// Readers of /etc/pve stuck in a hung pmxcfs that may linger before reads fail at once; the
// doctor is short-lived and exits however many are stuck.
const MAX_STUCK_READERS = 2;

/** Builds the doctor's context; `close` ends the reader processes it started. */
export function openDoctorContext(
  config: AgentConfig,
  options: DoctorOptions,
  clock: Clock,
  logger: Logger,
): DoctorContext & { close(): Promise<void> } {
  const paths = config.paths;
  const proc = procOf(config.paths.procRoot);
  const clusterFs = configuredClusterFs(config, { maxStuckReaders: MAX_STUCK_READERS, clock, logger });
  const pct = configuredPctRunner(config, clock, proc instanceof Error ? undefined : proc);
  const answers = new Map<string, Promise<unknown>>();
  const root = config.simulate;
  return {
    config,
    paths,
    tools: root ? SIMULATED_TOOLS : PROXMOX_TOOLS,
    options,
    clock,
    logger,
    clusterFs,
    pct,
    runTool: toolRunner(pctEnvironment(config.paths.pctEnv)),
    proc: () => {
      if (proc instanceof Error) throw proc;
      return proc;
    },
    once: <T>(key: string, work: () => Promise<T>): Promise<T> => {
      if (!answers.has(key)) answers.set(key, work());
      return answers.get(key) as Promise<T>;
    },
    simulated: root ? { root, pmxcfsServed: () => readPmxcfsState(root)?.state === "mounted" } : null,
    close: () => clusterFs.close(),
  };
}

function procOf(root: string): ProcReader | Error {
  try {
    return realProcReader(root);
  } catch (err) {
    return new Error(`${path.join(root, "stat")} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}
