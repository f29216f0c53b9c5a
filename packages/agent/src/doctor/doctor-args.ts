import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_ROOTFS_STORAGE, STORAGE_ID, TEMPLATE_VOLUME } from "../containers/field-rules.js";
import { DOCTOR_VMID_FROM } from "./cycle/free-vmid.js";
import type { WantedStorage } from "./doctor-context.js";

export const DOCTOR_USAGE = `usage: lockstep-agent doctor [--config file.json] [--simulate <dir>] [--json]
                             [--storage <id>]... [--timeout <ms>]
                             [--cycle <template> [--vmid <n>]]
                             [--node name] [--state-dir dir] [--tls-ca F --tls-cert F --tls-key F]

Checks on this node every assumption the agent makes and prints a table: pass, warn or fail,
with what was seen. pct and pvesh and their versions, the PVE major version, /etc/pve
(pmxcfs mounted, a FUSE filesystem, quorate), the node name and cluster members, the lock
directory and its filesystem, /proc/locks, the active task list, every container config,
the storages (local-lvm unless --storage names others), the state directory, the TLS
certificates (not expiring within 30 days) and the clock. Each check gets --timeout ms
(default 15000); one that does not answer fails, and the rest still run.

The configuration is the agent's: --config, else LOCKSTEP_AGENT_CONFIG, else
/etc/lockstep/agent.json when it exists, then LOCKSTEP_AGENT_* variables and the flags above.
--simulate checks a simulated node rooted at <dir> (packages/sim) instead.

Read-only, but for one write: in the agent's state directory (made 0700 when missing, as the
agent makes it at its start) a probe file is created, fsync'd and removed. --cycle <template> (e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst)
changes the node, once every check passed: it creates a container tagged lockstep-doctor on
the first free VMID from ${DOCTOR_VMID_FROM} (or --vmid), pushes a file and verifies it, runs a
command, takes two snapshots, prunes one and destroys the container, each step timed.

--json prints the report for scripts. Exit status: 0 when nothing failed (warnings allowed),
1 when a check or a cycle step failed, 2 for a usage or configuration error.`;

/** The real node's configuration file, read by default when it is there (the unit's --config). */
const DEFAULT_CONFIG_FILE = "/etc/lockstep/agent.json";

/** A bad command line: usage error, exit 2. */
export class DoctorUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DoctorUsageError";
  }
}

/** What was asked on the command line. */
export interface DoctorInvocation {
  readonly help: boolean;
  readonly json: boolean;
  readonly configPath: string | null;
  /** The agent's flags, as the daemon takes them. */
  readonly flags: Record<string, string | undefined>;
  readonly timeoutMs: number;
  readonly storages: readonly WantedStorage[];
  readonly cycle: { readonly template: string; readonly storage: string; readonly vmidFrom: number } | null;
}

/** Parses `lockstep-agent doctor`'s arguments; throws DoctorUsageError. */
export function parseDoctorArgs(argv: readonly string[], env: NodeJS.ProcessEnv): DoctorInvocation {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new DoctorUsageError((err as Error).message);
  }
  const v = parsed.values;
  const timeoutMs = integer("--timeout", v.timeout ?? "15000", 100, 600_000);
  const rootfs = (v.storage ?? [DEFAULT_ROOTFS_STORAGE]).map((id) => {
    if (!STORAGE_ID.test(id)) throw new DoctorUsageError(`--storage ${JSON.stringify(id)} is not a storage ID`);
    return { id, content: "rootdir" as const };
  });
  const template = v.cycle;
  if (template !== undefined && !TEMPLATE_VOLUME.test(template))
    throw new DoctorUsageError(
      `--cycle ${JSON.stringify(template)} is not a template volume such as local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`,
    );
  if (template === undefined && v.vmid !== undefined) throw new DoctorUsageError("--vmid goes with --cycle");
  const cycle =
    template === undefined
      ? null
      : {
          template,
          storage: rootfs[0]!.id,
          vmidFrom: integer("--vmid", v.vmid ?? String(DOCTOR_VMID_FROM), 100, 999_999_999),
        };
  const storages = cycle ? [...rootfs, { id: template!.split(":")[0]!, content: "vztmpl" as const }] : rootfs;
  const defaultConfig =
    !v.simulate && !env.LOCKSTEP_AGENT_CONFIG && existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null;
  return {
    help: v.help ?? false,
    json: v.json ?? false,
    configPath: v.config ?? defaultConfig,
    flags: {
      simulate: v.simulate,
      node: v.node,
      stateDir: v["state-dir"],
      tlsCa: v["tls-ca"],
      tlsCert: v["tls-cert"],
      tlsKey: v["tls-key"],
    },
    timeoutMs,
    storages,
    cycle,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      config: { type: "string" },
      simulate: { type: "string" },
      json: { type: "boolean" },
      storage: { type: "string", multiple: true },
      timeout: { type: "string" },
      cycle: { type: "string" },
      vmid: { type: "string" },
      node: { type: "string" },
      "state-dir": { type: "string" },
      "tls-ca": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function integer(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new DoctorUsageError(`${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}
