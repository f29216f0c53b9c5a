import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkNodeExists } from "../cluster/cluster-members.js";
import { checkCfsQuorum } from "../pmxcfs/quorum.js";
import { CtMigration, type MigrationOptions } from "../cluster/ct-migration.js";
import { migrationDuration } from "../cluster/migration-log.js";
import { remoteNode, remoteSimNode, type RemoteNode } from "../cluster/remote-node.js";
import { parseStorageMap, storageCheckEnabled } from "../cluster/storage-checks.js";
import { haManaged } from "../ha/ha-resources.js";
import { acquireFlock } from "../locking/flock.js";
import { readConfig } from "../node/ct-config.js";
import { PctError, parameterError } from "../node/pct-error.js";
import { readRuntime } from "../node/runtime-state.js";
import { readStorageConfig } from "../storage/storage-config.js";
import { INTERRUPT_MESSAGE } from "../tasks/interrupt.js";
import { taskCommand, type TaskIo } from "../tasks/task-command.js";
import { WORKER_PLAN_ENV } from "../tasks/worker-plan.js";
import { migrationLockPath } from "./delsnapshot.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { lockConfig, type SimContext } from "./sim-context.js";

const HA_MANAGER_BIN = fileURLToPath(new URL("../../bin/lockstep-sim-ha-manager.js", import.meta.url));

interface MigratePlan {
  readonly vmid: number;
  readonly target: RemoteNode;
  readonly opts: MigrationOptions;
  /** HA-managed: the `hamigrate` task only asks the HA manager (`ha-manager migrate`). */
  readonly ha: boolean;
}

/**
 * `pct migrate <vmid> <target> [--restart] [--timeout N] [--target-storage map]`: pve-container
 * src/PVE/API2/LXC.pm migrate_vm. Before the fork: `target is local node.`, check_cfs_quorum,
 * check_node_exists,
 * the config exists, a running CT needs --restart (or --online), the target storages may hold
 * CT rootdirs. An HA-managed CT (unless the HA manager itself migrates it) gets a `hamigrate`
 * task that runs `ha-manager migrate`; otherwise a `vzmigrate` task (on this, the source node)
 * runs PVE::LXC::Migrate->migrate under GuestHelpers.pm guest_migration_lock (10 s).
 */
export const migrate = taskCommand<MigratePlan>({
  before(ctx, args) {
    const { positionals, options } = parsePctArgs(args, ["vmid", "target"], {
      values: ["target-storage", "timeout", "bwlimit"],
      booleans: ["online", "restart"],
    });
    const vmid = parseVmid(positionals[0]!);
    const targetName = positionals[1]!;
    if (targetName === ctx.node.name) throw parameterError("target", "target is local node.");
    checkCfsQuorum(ctx.node.layout);
    checkNodeExists(ctx.node.cluster, targetName);
    const target = remoteNode(ctx.node, targetName);
    readConfig(ctx.node.layout, ctx.node.name, vmid);
    const online = options.online === "1";
    const restart = options.restart === "1";
    if (readRuntime(ctx.node.layout, vmid).running && !online && !restart)
      throw new PctError("can't migrate running container without --online or --restart");
    const timeout = options.timeout !== undefined ? Number(options.timeout) : 180;
    if (!Number.isInteger(timeout))
      throw parameterError("timeout", "type check ('integer') failed - got '" + options.timeout + "'");
    const storagemap = options["target-storage"] !== undefined ? parseStorageMap(options["target-storage"]) : null;
    if (storagemap) checkTargetStorages(ctx, storagemap, targetName);
    const ha = haManaged(ctx.node.layout, vmid);
    return {
      type: ha ? "hamigrate" : "vzmigrate",
      id: String(vmid),
      prepared: { vmid, target, opts: { restart, online, timeout, storagemap }, ha },
    };
  },
  body(ctx, plan, io) {
    if (ctx.env.LOCKSTEP_SIM_RPCENV === "ha") io.print("task started by HA resource agent\n");
    if (plan.ha) return requestHaMigration(ctx, plan, io);
    const file = migrationLockPath(ctx.node.layout.root, plan.vmid);
    mkdirSync(path.dirname(file), { recursive: true });
    const lock = acquireFlock(file, ctx.node.lockTimeoutS ?? 10, true);
    if (!lock) throw new PctError(`can't lock file '/var/lock/pve-manager/pve-migrate-${plan.vmid}' - got timeout`);
    try {
      runMigration(new CtMigration(ctx, io, plan.vmid, plan.target, remoteSimNode(ctx.node, plan.target), plan.opts));
    } finally {
      lock.release();
    }
  },
});

/** migrate_vm's `$check_storage_access_migrate` for each target storage of the map. */
function checkTargetStorages(ctx: SimContext, map: ReturnType<typeof parseStorageMap>, target: string): void {
  const storages = readStorageConfig(ctx.node.layout);
  for (const sid of [...Object.values(map.entries), ...(map.default ? [map.default] : [])]) {
    const entry = storageCheckEnabled(storages, sid, target);
    if (!entry.content.includes("rootdir")) throw new PctError(`storage '${sid}' does not support CT rootdirs`);
  }
}

/** migrate_vm's `$hacmd`: `Requesting HA migration for CT <vmid> to node <target>`, then `ha-manager migrate ct:<vmid> <target>`. */
function requestHaMigration(ctx: SimContext, plan: MigratePlan, io: TaskIo): void {
  io.print(`Requesting HA migration for CT ${plan.vmid} to node ${plan.target.name}\n`);
  const argv = ["migrate", `ct:${plan.vmid}`, plan.target.name];
  const { [WORKER_PLAN_ENV]: _plan, ...env } = ctx.env;
  const result = spawnSync(process.execPath, [HA_MANAGER_BIN, ...argv], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (result.stdout) io.print(result.stdout);
  if (result.stderr) io.print(result.stderr);
  if (result.status !== 0)
    throw new PctError(`command 'ha-manager ${argv.join(" ")}' failed: exit code ${result.status ?? 255}`);
}

/**
 * pve-guest-common AbstractMigrate.pm `migrate`: under the CT's config flock, prepare, then
 * phase1 (on error: phase1_cleanup and final_cleanup, then the migration is aborted), phase3
 * and final_cleanup (their errors only mark `migration problems`). An interrupt (TERM from a
 * signalled `pct`) fails the phase running (`$eval_int`: `interrupted by signal`).
 */
function runMigration(m: CtMigration): void {
  const started = Date.now();
  let error: string | null = null;
  try {
    const lock = lockConfig(m.ctx, m.vmid, 10);
    try {
      evalInt(() => m.prepare());
      try {
        evalInt(() => m.phase1());
      } catch (err) {
        m.log("err", message(err));
        for (const cleanup of [() => m.phase1Cleanup(), () => m.finalCleanup()]) {
          try {
            cleanup();
          } catch (inner) {
            m.log("err", message(inner));
          }
        }
        throw err;
      }
      for (const step of [() => evalInt(() => m.phase3()), () => m.finalCleanup()]) {
        try {
          step();
        } catch (err) {
          m.log("err", message(err));
          m.errors = true;
        }
      }
    } finally {
      lock.release();
    }
  } catch (err) {
    error = message(err);
  }
  const duration = migrationDuration(Date.now() - started);
  if (error !== null) {
    m.log("err", `migration aborted (duration ${duration}): ${error}`);
    throw new PctError("migration aborted");
  }
  if (m.errors) {
    m.log("err", `migration finished with problems (duration ${duration})`);
    throw new PctError("migration problems");
  }
  m.log("info", `migration finished successfully (duration ${duration})`);
}

/** AbstractMigrate.pm `$eval_int`: a signal during a phase dies with `interrupted by signal`. */
function evalInt<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (message(err) === INTERRUPT_MESSAGE) throw new PctError("interrupted by signal");
    throw err;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
