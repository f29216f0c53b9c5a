import { TEMPLATE } from "../support/app-spec.js";
import type { SeededRandom } from "./seeded-random.js";

/** The storage of the workload's containers (scenario-cluster.ts adds it to the cluster). */
export const WORKLOAD_STORAGE = "local-zfs";

/** One request of the workload, fired `at` ms into the fault phase. */
export type PlannedRequest =
  | {
      readonly n: number;
      readonly at: number;
      readonly kind: "create";
      readonly key: string;
      readonly body: CreateBody;
    }
  | {
      readonly n: number;
      readonly at: number;
      readonly kind: "apply";
      readonly key: string;
      readonly target: number;
      readonly body: { spec: Spec };
    }
  | { readonly n: number; readonly at: number; readonly kind: "delete"; readonly key: string; readonly target: number }
  /** The client sends request `of` again with its key, as after a lost answer. */
  | { readonly n: number; readonly at: number; readonly kind: "retry"; readonly of: number };

export type FaultKind =
  /** The agent's network side (gRPC, TLS, request records) SIGKILLed; its root executor goes on. */
  | "kill-agent"
  /** The agent's root executor (pct) SIGKILLed; the network side answers UNAVAILABLE until it is back. */
  | "kill-executor"
  | "kill-api"
  | "restart-mariadb"
  | "hang-pct"
  | "crash-pct"
  | "orphan-worker"
  | "delay-visibility"
  | "unreachable"
  | "backup"
  | "operator-mount"
  /** An admin's `pct migrate <vmid> <target> --restart` of one of Lockstep's containers. */
  | "migrate"
  /** `ha-manager migrate` of one of Lockstep's containers, made HA-managed for it. */
  | "ha-relocate"
  | "pmxcfs-pause"
  | "pmxcfs-stop"
  | "pmxcfs-no-quorum"
  /** Thousands of sleeping processes holding files open. */
  | "busy-host"
  /** Galera: the node the proxy writes to killed (SIGKILL); the proxy fails over; it rejoins later. */
  | "kill-db-writer"
  /** Galera: one node cut off from the two others: it leaves the primary component. */
  | "partition-db-node"
  /** An API process cut off from the database (its proxy) by the network. */
  | "cut-api-db"
  /** A node's agent cut off from every API process by the network. */
  | "cut-agent-api";

/** The faults that need a pmxcfs mount: left out of the plan on a machine without FUSE. */
export const PMXCFS_FAULTS: readonly FaultKind[] = ["pmxcfs-pause", "pmxcfs-stop", "pmxcfs-no-quorum"];

/** The faults of the database and the network: each scenario plans those its database has (scenario-database.ts). */
export const DATABASE_FAULT_KINDS: readonly FaultKind[] = [
  "restart-mariadb",
  "kill-db-writer",
  "partition-db-node",
  "cut-api-db",
  "cut-agent-api",
];

/** One fault, from `at` for `forMs` ms. */
export interface PlannedFault {
  readonly at: number;
  readonly kind: FaultKind;
  readonly forMs: number;
  readonly node?: string;
  readonly api?: number;
  /** The `pct` command a simulator fault applies to. */
  readonly command?: string;
  readonly signal?: "SIGKILL" | "SIGTERM";
  /** orphan-worker: after its hang the worker prints (and dies of the broken pipe) or finishes quietly. */
  readonly afterHang?: "print" | "quiet";
  /** busy-host: how many sleeping processes. */
  readonly processes?: number;
  /** partition-db-node: which Galera node. */
  readonly dbNode?: "n1" | "n2" | "n3";
}

export interface CreateBody {
  readonly node: string;
  readonly ports: number;
  readonly spec: Spec;
}

type Spec = ReturnType<typeof workloadSpec>;

const UNIT = "[Unit]\nDescription=app\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n";

/**
 * A container with a file and a service: creates push, verify and reload systemd. Each new
 * version toggles nesting, a setting Proxmox cannot apply to a running container: it waits in
 * `[pve:pending]` until the pipeline restarts the container.
 */
export function workloadSpec(hostname: string, version: number) {
  return {
    hostname,
    source: { template: TEMPLATE },
    security: { nesting: version % 2 === 0 },
    resources: { cores: 1, memory_mb: 512, swap_mb: 512, disk_gb: 4, storage: WORKLOAD_STORAGE },
    files: [{ path: "/etc/app/app.conf", content: `version=${version}\n` }],
    services: [{ unit: "app.service", content: UNIT }],
    snapshot_retention: { keep_last: 2 },
  };
}

/** The seed's requests: mostly creates, then applies, deletes and replays of earlier ones. */
export function planRequests(
  rng: SeededRandom,
  seed: number,
  count: number,
  phaseMs: number,
  nodes: readonly string[],
): PlannedRequest[] {
  const plan: PlannedRequest[] = [];
  const creates: Extract<PlannedRequest, { kind: "create" }>[] = [];
  const versions = new Map<number, number>();
  for (let n = 0; n < count; n++) {
    const at = Math.round((phaseMs * n) / count + rng.int(0, Math.round(phaseMs / count)));
    const key = `faults-${seed}-${n}`;
    const kind = creates.length === 0 ? "create" : rng.weighted({ create: 5, apply: 2, delete: 2, retry: 2 });
    if (kind === "create") {
      const request = {
        n,
        at,
        kind,
        key,
        body: { node: rng.pick(nodes), ports: rng.int(0, 2), spec: workloadSpec(`w${seed % 1000}-${n}`, 1) },
      } as const;
      creates.push(request);
      plan.push(request);
    } else if (kind === "apply") {
      const target = rng.pick(creates);
      const version = (versions.get(target.n) ?? 1) + 1;
      versions.set(target.n, version);
      plan.push({
        n,
        at,
        kind,
        key,
        target: target.n,
        body: { spec: workloadSpec(target.body.spec.hostname, version) },
      });
    } else if (kind === "delete") {
      plan.push({ n, at, kind, key, target: rng.pick(creates).n });
    } else {
      plan.push({ n, at, kind, of: rng.pick(plan.filter((p) => p.kind !== "retry")).n });
    }
  }
  return plan;
}

const WEIGHTS: Readonly<Record<FaultKind, number>> = {
  "kill-agent": 3,
  "kill-executor": 3,
  "kill-api": 3,
  "restart-mariadb": 1,
  "hang-pct": 2,
  "crash-pct": 3,
  "orphan-worker": 2,
  "delay-visibility": 2,
  unreachable: 2,
  backup: 2,
  "operator-mount": 2,
  migrate: 4,
  "ha-relocate": 3,
  "pmxcfs-pause": 2,
  "pmxcfs-stop": 2,
  "pmxcfs-no-quorum": 2,
  "busy-host": 1,
  "kill-db-writer": 2,
  "partition-db-node": 3,
  "cut-api-db": 3,
  "cut-agent-api": 3,
};

/**
 * The seed's faults, spread over the phase; each ends before the phase does (a migration
 * waits at most until then for a container to move, and then takes its own time).
 * `pmxcfs`: whether the nodes run pmxcfs (no pmxcfs fault is planned otherwise);
 * `databaseFaults`: the faults of the database and network the scenario's database has.
 */
export function planFaults(
  rng: SeededRandom,
  count: number,
  phaseMs: number,
  nodes: readonly string[],
  apis: number,
  pmxcfs: boolean,
  databaseFaults: readonly FaultKind[],
): PlannedFault[] {
  const faults: PlannedFault[] = [];
  const possible = (kind: FaultKind) =>
    (pmxcfs || !PMXCFS_FAULTS.includes(kind)) &&
    (!DATABASE_FAULT_KINDS.includes(kind) || databaseFaults.includes(kind));
  const kinds = Object.fromEntries(Object.entries(WEIGHTS).filter(([kind]) => possible(kind as FaultKind))) as Record<
    FaultKind,
    number
  >;
  for (let i = 0; i < count; i++) {
    const kind = rng.weighted(kinds);
    const forMs = rng.int(500, Math.min(5000, Math.round(phaseMs / 4)));
    const at = rng.int(0, phaseMs - forMs);
    const node = rng.pick(nodes);
    switch (kind) {
      case "migrate":
      case "ha-relocate": {
        // After the first quarter, when the workload has made containers; `node` is the
        // preferred target, forMs how long to wait for a container that can move.
        const start = rng.int(Math.round(phaseMs / 4), Math.round((phaseMs * 3) / 4));
        faults.push({ at: start, kind, forMs: phaseMs - start, node });
        break;
      }
      case "pmxcfs-pause": {
        // A few seconds, longer than the agent's probe of /etc/pve waits (scenario-cluster.ts):
        // every call on the mount waits meanwhile.
        const paused = rng.int(3000, 6000);
        faults.push({ at: rng.int(0, phaseMs - paused), kind, forMs: paused, node });
        break;
      }
      case "busy-host": {
        const long = rng.int(Math.round(phaseMs / 4), Math.round(phaseMs / 2));
        faults.push({ at: rng.int(0, phaseMs - long), kind, forMs: long, processes: rng.int(2000, 4000) });
        break;
      }
      case "kill-api":
        faults.push({ at, kind, forMs, api: rng.int(0, apis - 1) });
        break;
      case "kill-db-writer":
        // forMs: how long the killed node stays down before it rejoins.
        faults.push({ at, kind, forMs });
        break;
      case "partition-db-node":
      case "cut-api-db":
      case "cut-agent-api": {
        // Past Galera's suspect timeout (5 s: the minority leaves the primary component) and the
        // API's statement timeout (8 s), up to longer than a job's agent call may take (15 s).
        const cut = rng.int(3000, Math.min(16_000, Math.round(phaseMs / 2)));
        const fields =
          kind === "partition-db-node"
            ? { dbNode: rng.pick(["n1", "n2", "n3"] as const) }
            : kind === "cut-api-db"
              ? { api: rng.int(0, apis - 1) }
              : { node };
        faults.push({ at: rng.int(0, phaseMs - cut), kind, forMs: cut, ...fields });
        break;
      }
      case "restart-mariadb":
        faults.push({ at, kind, forMs: Math.min(forMs, 2000), signal: rng.pick(["SIGKILL", "SIGTERM"] as const) });
        break;
      case "hang-pct":
      case "crash-pct":
        faults.push({
          at,
          kind,
          forMs,
          node,
          command: rng.pick(["create", "start", "push", "snapshot", "destroy", "exec", "set"]),
        });
        break;
      case "orphan-worker":
        // Commands Proxmox runs in a task worker (pve-common RESTEnvironment.pm fork_worker).
        faults.push({
          at,
          kind,
          forMs,
          node,
          command: rng.pick(["create", "start", "push", "snapshot", "destroy"]),
          afterHang: rng.pick(["print", "quiet"] as const),
        });
        break;
      default:
        faults.push({ at, kind, forMs, node });
    }
  }
  return faults.sort((a, b) => a.at - b.at);
}
