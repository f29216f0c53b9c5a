import { OperationIntents } from "../../src/dedup/operation-intents.js";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  createMemoryLogger,
  DEFAULT_POLICY,
  type Clock,
  scratchDir,
  silentLogger,
  type TestScope,
} from "@lockstep/shared";
import { EventBus } from "../../src/events/event-bus.js";
import type { CreateSpec } from "../../src/containers/create-container.js";
import type { NodeContext } from "../../src/node/node-context.js";
import { simulatedPaths } from "../../src/node/node-paths.js";
import type { OperationScope } from "../../src/pct/operation-scope.js";
import type { PctResult } from "../../src/pct/pct-runner.js";
import { fakeClusterFs } from "../node/fake-cluster-fs.js";

/** A clock whose sleeps return at once and move time on by what was asked. */
export class SteppingClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(private current = 1_700_000_000_000) {}
  now(): number {
    return this.current;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current += ms;
  }
}

/** One request's scope, as the gRPC adapter hands it to a handler; never aborted. */
export function testOperation(requestId: string): OperationScope {
  return { requestId, signal: new AbortController().signal, logger: silentLogger() };
}

/** A small unprivileged container's create request, changed by `overrides`. */
export function createSpec(overrides: Partial<CreateSpec> = {}): CreateSpec {
  return {
    vmid: 150,
    template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    hostname: "web-1",
    cores: 1,
    memoryMb: 512,
    swapMb: 512,
    storage: "local-lvm",
    diskGb: 8,
    net0: "",
    unprivileged: true,
    features: "",
    tags: [],
    description: "",
    start: false,
    ...overrides,
  };
}

/** What the fake `pct` answers to one call; the calls are recorded in order. */
export type PctScript = (args: readonly string[]) => Partial<PctResult>;

/**
 * A NodeContext over a temporary node root (config files written by the test, in Proxmox's
 * format) whose `pct` is a script: unit tests of decisions, not of `pct`.
 */
export function fakeNode(
  t: TestScope,
  script: PctScript,
  clock: Clock = new SteppingClock(),
): {
  ctx: NodeContext;
  calls: string[][];
  root: string;
  clusterFs: ReturnType<typeof fakeClusterFs>;
  writeConfig(vmid: number, text: string): void;
} {
  const root = scratchDir(t, "lockstep-fake-node");
  const paths = simulatedPaths(root, "/nonexistent/pct");
  mkdirSync(paths.configDir, { recursive: true });
  // pmxcfs's .members of a node that is a cluster of its own (status.c cfs_create_memberlist_msg).
  writeFileSync(path.join(paths.pveDir, ".members"), `{\n"nodename": "pve1",\n"version": 0\n}\n`);
  const intentsDir = path.join(root, "intents");
  mkdirSync(intentsDir);
  const calls: string[][] = [];
  const logger = createMemoryLogger();
  const clusterFs = fakeClusterFs();
  const ctx: NodeContext = {
    node: "pve1",
    paths,
    pct: {
      run: async (args) => {
        calls.push([...args]);
        return { exitCode: 0, stdout: "", stderr: "", durationMs: 1, ...script(args) };
      },
    },
    gate: {
      ensureFree: async () => undefined,
      settle: async () => {
        throw new Error("the fake node has no lock reports");
      },
    },
    events: new EventBus(logger),
    clock,
    logger,
    lockRetries: 0,
    timeouts: {
      readMs: 1_000,
      createMs: 1_000,
      destroyMs: 1_000,
      powerMs: 60_000,
      snapshotMs: 1_000,
      pushMs: 1_000,
      execDefaultMs: 1_000,
      execMaxMs: 2_000,
    },
    verify: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
    limits: { execOutputBytes: 1024, pushBytes: 1024 },
    stagingDir: path.join(root, "staging"),
    intents: new OperationIntents(intentsDir),
    // No process of this fake node runs: no task worker is ever alive.
    proc: { locks: async () => "", pids: async () => [], openIn: async () => [], process: async () => null },
    clusterFs,
    policy: DEFAULT_POLICY,
  };
  return {
    ctx,
    calls,
    root,
    clusterFs,
    writeConfig: (vmid, text) => writeFileSync(path.join(paths.configDir, `${vmid}.conf`), text),
  };
}
