import { cpSync, existsSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { bootSystemd } from "../container/systemd.js";
import type { SimContext } from "../commands/sim-context.js";
import { checkNotLocked, readConfig, writeConfig, type CtConfig, type Section } from "../node/ct-config.js";
import { PctError } from "../node/pct-error.js";
import { readRuntime, removeRuntime, updateRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import type { SimNode } from "../node/sim-node.js";
import { readStorageConfig, type StorageEntry } from "../storage/storage-config.js";
import { freeVolume, parseVolid } from "../storage/volumes.js";
import type { TaskIo } from "../tasks/task-command.js";
import { migrationLogText, type MigrationLogLevel } from "./migration-log.js";
import { commandString, runRemotePct, sshCommand, type RemoteNode } from "./remote-node.js";
import { mapStorageId, storageCheckEnabled, type StorageMap } from "./storage-checks.js";
import { storageMigrate } from "./storage-migrate.js";

/** The options of one migration (API2/LXC.pm migrate_vm's parameters). */
export interface MigrationOptions {
  readonly restart: boolean;
  readonly online: boolean;
  /** Shutdown timeout in restart mode (default 180 s). */
  readonly timeout: number;
  readonly storagemap: StorageMap | null;
}

/**
 * One container migration, as pve-container src/PVE/LXC/Migrate.pm's object carries it
 * through prepare, phase1, phase1_cleanup, phase3 and final_cleanup (AbstractMigrate.pm
 * `migrate` drives them: see commands/migrate.ts).
 */
export class CtMigration {
  vmconf: CtConfig | null = null;
  wasRunning = false;
  /** Source volumes already copied to the target (`$self->{volumes}`). */
  readonly volumes: string[] = [];
  readonly volumeMap = new Map<string, string>();
  confMigrated = false;
  errors = false;

  constructor(
    readonly ctx: SimContext,
    readonly io: TaskIo,
    readonly vmid: number,
    readonly target: RemoteNode,
    readonly targetNode: SimNode,
    readonly opts: MigrationOptions,
  ) {}

  /** AbstractMigrate.pm `log`. */
  log(level: MigrationLogLevel, msg: string): void {
    this.io.print(migrationLogText(level, msg));
  }

  /**
   * Migrate.pm `prepare`: the config exists and is not locked; a running CT only in restart
   * mode; every mount point is a volume (or shared) on a storage with `rootdir` here and on the
   * target; in restart mode the CT is shut down (`shutdown CT <vmid>`). Returns whether it runs.
   */
  prepare(): boolean {
    const { layout, name } = this.ctx.node;
    const conf = (this.vmconf = readConfig(layout, name, this.vmid));
    checkNotLocked(conf);
    let running = readRuntime(layout, this.vmid).running;
    if (running) {
      if (this.opts.online) throw new PctError("lxc live migration is currently not implemented");
      if (!this.opts.restart) throw new PctError("running container can only be migrated in restart mode");
    }
    this.wasRunning = running;
    const storages = readStorageConfig(layout);
    for (const mp of mountpoints(conf.main, true)) {
      if (mp.type !== "volume") {
        if (mp.shared) continue;
        throw new PctError(`cannot migrate local ${mp.type} mount point '${mp.key}'`);
      }
      const storage = parseVolid(mp.volume).storage;
      const scfg = storageCheckEnabled(storages, storage, name);
      if (!scfg.content.includes("rootdir"))
        throw new PctError(`content type 'rootdir' is not available on storage '${storage}'`);
      let targetsid = storage;
      if (!shared(scfg)) {
        if (running && !this.opts.restart)
          throw new PctError(`unable to migrate local mount point '${mp.volume}' while CT is running`);
        targetsid = mapStorageId(this.opts.storagemap, storage);
      }
      const tcfg = storageCheckEnabled(storages, targetsid, this.target.name);
      if (!tcfg.content.includes("rootdir"))
        throw new PctError(`${mp.volume}: content type 'rootdir' is not available on storage '${targetsid}'`);
    }
    if (this.opts.restart && running) {
      this.log("info", `shutdown CT ${this.vmid}\n`);
      // LXC.pm vm_stop($vmid, 0, $timeout): a clean shutdown; the simulated CT stops at once.
      updateRuntime(layout, this.vmid, (s) =>
        Object.assign(s, { running: false, startedAt: 0, loaded: [], active: [] }),
      );
      running = false;
    }
    return running;
  }

  /**
   * Migrate.pm `phase1`: `lock: migrate`, every local volume (of the config, its snapshots and
   * its pending changes) checked and copied with storage_migrate, then the config, its volume
   * IDs updated, renamed into the target node's directory (AbstractConfig.pm
   * move_config_to_node). The container's files go with its root volume.
   */
  phase1(): void {
    const { layout, name } = this.ctx.node;
    const conf = this.vmconf!;
    this.log("info", `starting migration of CT ${this.vmid} to node '${this.target.name}' (${this.target.ip})`);
    conf.main.values.lock = "migrate";
    writeConfig(layout, this.vmid, conf);
    this.ctx.fault.at("midway");
    const volhash = this.testVolumes(conf);
    const storages = readStorageConfig(layout);
    for (const [volid, entry] of [...volhash].sort(([a], [b]) => a.localeCompare(b))) {
      this.volumes.push(volid);
      let newVolid: string;
      try {
        const withSnapshots = entry.snapshots && ["zfspool", "btrfs"].includes(storageOf(storages, volid).type);
        newVolid = storageMigrate(
          this.ctx.node,
          this.targetNode,
          { volid, targetsid: entry.targetsid, withSnapshots },
          this.logIo(),
          this.ctx.env,
        );
      } catch (err) {
        throw new PctError(
          `storage migration for '${volid}' to storage '${entry.targetsid}' failed - ${(err as Error).message}`,
        );
      }
      this.volumeMap.set(volid, newVolid);
      this.log("info", `volume '${volid}' is '${newVolid}' on the target\n`);
      this.io.checkpoint();
    }
    const files = path.dirname(rootfsPath(layout, this.vmid));
    if (existsSync(files))
      cpSync(files, path.dirname(rootfsPath(this.targetNode.layout, this.vmid)), {
        recursive: true,
        verbatimSymlinks: true,
      });
    updateVolumeIds(conf, this.volumeMap);
    writeConfig(layout, this.vmid, conf);
    const from = path.join(layout.pveDir, "nodes", name, "lxc", `${this.vmid}.conf`);
    const to = path.join(layout.pveDir, "nodes", this.target.name, "lxc", `${this.vmid}.conf`);
    try {
      renameSync(from, to);
    } catch (err) {
      throw new PctError(
        `failed to move config file to node '${this.target.name}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    this.confMigrated = true;
  }

  /** Migrate.pm `phase1_cleanup`: says which copies stay behind on the target (it removes none). */
  phase1Cleanup(): void {
    this.log("info", "aborting phase 1 - cleanup resources");
    for (const volid of this.volumes)
      this.log("err", `found stale volume copy '${this.volumeMap.get(volid) ?? volid}' on node '${this.target.name}'`);
  }

  /** Migrate.pm `phase3`: the source's copies of the volumes are freed (and the CT's files here). */
  phase3(): void {
    const { layout } = this.ctx.node;
    for (const volid of this.volumes) {
      try {
        freeVolume(layout, volid);
      } catch (err) {
        this.log("err", `removing local copy of '${volid}' failed - ${(err as Error).message}`);
        this.errors = true;
      }
    }
    rmSync(path.dirname(rootfsPath(layout, this.vmid)), { recursive: true, force: true });
    removeRuntime(layout, this.vmid);
  }

  /**
   * Migrate.pm `final_cleanup`: before the config moved, remove_lock('migrate') here (and in
   * restart mode start the CT here again); after, `ssh <target> pct unlock <vmid>` (cmd_logerr:
   * a failure only logged) and, in restart mode, `ssh <target> pct start <vmid>`.
   */
  finalCleanup(): void {
    this.log("info", "start final cleanup");
    if (!this.confMigrated) {
      try {
        this.removeMigrateLock();
      } catch (err) {
        this.log("err", (err as Error).message);
      }
      if (this.opts.restart && this.wasRunning) {
        this.log("info", "start container on source node");
        const { layout } = this.ctx.node;
        updateRuntime(layout, this.vmid, (s) => Object.assign(s, { running: true, startedAt: Date.now() }));
        bootSystemd(layout, this.vmid, rootfsPath(layout, this.vmid));
      }
      return;
    }
    const unlock = [...sshCommand(this.target), "pct", "unlock", String(this.vmid)];
    const result = runRemotePct(this.ctx, this.target, ["unlock", String(this.vmid)]);
    if (result.status !== 0) {
      // AbstractMigrate.pm cmd_logerr: the command, its output, then the error, logged only.
      this.log("info", `# ${commandString(unlock)}`);
      for (const line of result.lines) this.log("info", line);
      this.errors = true;
      this.log("err", `failed to clear migrate lock: exit code ${result.status}`);
    }
    if (this.opts.restart && this.wasRunning) {
      this.log("info", "start container on target node");
      const start = [...sshCommand(this.target), "pct", "start", String(this.vmid)];
      this.log("info", `# ${commandString(start)}`);
      const started = runRemotePct(this.ctx, this.target, ["start", String(this.vmid)]);
      for (const line of started.lines) this.log("info", line);
      if (started.status !== 0)
        throw new PctError(`command '${commandString(start)}' failed: exit code ${started.status}`);
    }
  }

  /** AbstractConfig.pm remove_lock($vmid, 'migrate'), inside the config flock migrate already holds. */
  private removeMigrateLock(): void {
    const { layout, name } = this.ctx.node;
    const conf = readConfig(layout, name, this.vmid);
    const lock = conf.main.values.lock;
    if (lock !== "migrate")
      throw new PctError(
        lock ? `found lock '${lock}' trying to remove 'migrate' lock` : "no lock found trying to remove 'migrate' lock",
      );
    delete conf.main.values.lock;
    writeConfig(layout, this.vmid, conf);
  }

  /** phase1's `$test_volid`/`$test_mp` over snapshots, pending changes and the config; dies `can't migrate CT - check log`. */
  private testVolumes(conf: CtConfig): Map<string, { targetsid: string; snapshots: boolean }> {
    const storages = readStorageConfig(this.ctx.node.layout);
    const volhash = new Map<string, { ref: string; targetsid: string; snapshots: boolean }>();
    const errors = new Map<string, string>();
    const testMp = (mp: Mountpoint, snapname: string | null): void => {
      if (mp.type !== "volume") {
        if (snapname === null)
          this.log("info", `ignoring shared '${mp.type}' mount point '${mp.key}' ('${mp.volume}')`);
        return;
      }
      try {
        this.testVolid(storages, volhash, mp.volume, snapname);
      } catch (err) {
        if (!errors.has(mp.volume)) errors.set(mp.volume, (err as Error).message);
      }
    };
    for (const [snapname, snap] of conf.snapshots) for (const mp of mountpoints(snap, false)) testMp(mp, snapname);
    if (conf.pending) for (const mp of mountpoints(conf.pending, false)) testMp(mp, null);
    for (const mp of mountpoints(conf.main, true)) testMp(mp, null);
    for (const [volid, entry] of [...volhash].sort(([a], [b]) => a.localeCompare(b))) {
      this.log(
        "info",
        `found local volume '${volid}' (${entry.ref === "snapshot" ? "referenced by snapshot(s)" : "in current VM config"})\n`,
      );
    }
    for (const [volid, message] of [...errors].sort(([a], [b]) => a.localeCompare(b)))
      this.log("warn", `can't migrate local volume '${volid}': ${message}`);
    if (errors.size > 0) throw new PctError("can't migrate CT - check log");
    return volhash;
  }

  private testVolid(
    storages: readonly StorageEntry[],
    volhash: Map<string, { ref: string; targetsid: string; snapshots: boolean }>,
    volid: string,
    snapname: string | null,
  ): void {
    // LXC.pm $NEW_DISK_RE: `<storage>:<size>` is a disk still to be allocated (a pending change).
    if (/^(?:[^/:\s]+:)?\d+(?:\.\d+)?$/.test(volid)) {
      this.log("info", `volume '${volid}' does not exist (pending change?)`);
      return;
    }
    const { storage, volname } = parseVolid(volid);
    const scfg = storageCheckEnabled(storages, storage, this.ctx.node.name);
    if (shared(scfg)) {
      if (snapname === null) this.log("info", `volume '${volid}' is on shared storage '${storage}'`);
      return;
    }
    const targetsid = mapStorageId(this.opts.storagemap, storage);
    storageCheckEnabled(storages, targetsid, this.target.name);
    const entry = volhash.get(volid) ?? { ref: "config", targetsid, snapshots: false };
    volhash.set(volid, {
      ref: snapname !== null ? "snapshot" : "config",
      targetsid,
      snapshots: entry.snapshots || snapname !== null,
    });
    const owner = Number(/(?:vm|base|subvol|basevol)-(\d+)-disk-\d+/.exec(volname)?.[1] ?? 0);
    if (!owner || owner !== this.vmid) throw new PctError(`owned by other guest (owner = ${owner || ""})`);
    if (snapname !== null && scfg.type !== "zfspool") throw new PctError("non-migratable snapshot exists");
  }

  /** storage_migrate's log lines go through AbstractMigrate's log (`$logfunc`). */
  private logIo(): TaskIo {
    return { ...this.io, print: (text) => this.log("info", text) };
  }
}

/** A mount point as LXC/Config.pm parses it: a volume, a bind mount or a device. */
interface Mountpoint {
  readonly key: string;
  readonly volume: string;
  readonly type: "volume" | "bind" | "device";
  readonly shared: boolean;
}

/** LXC/Config.pm foreach_volume(_full): rootfs, mpN in order, then unusedN when asked. */
function mountpoints(section: Pick<Section, "values">, includeUnused: boolean): Mountpoint[] {
  const keys = Object.keys(section.values).filter(
    (k) => /^(rootfs|mp\d+)$/.test(k) || (includeUnused && /^unused\d+$/.test(k)),
  );
  const order = (k: string): number =>
    k === "rootfs" ? -1 : Number(/\d+$/.exec(k)![0]) + (k.startsWith("unused") ? 1e6 : 0);
  return keys
    .sort((a, b) => order(a) - order(b))
    .map((key) => {
      const value = section.values[key]!;
      const volume = key.startsWith("unused") ? value : value.split(",")[0]!;
      const type = !volume.startsWith("/") ? "volume" : volume.startsWith("/dev/") ? "device" : "bind";
      return { key, volume, type, shared: /(^|,)shared=1(,|$)/.test(value) };
    });
}

/** LXC/Config.pm update_volume_ids: every reference to a moved volume, in the config and its snapshots. */
function updateVolumeIds(conf: CtConfig, map: ReadonlyMap<string, string>): void {
  const update = (values: Record<string, string>): void => {
    for (const key of Object.keys(values)) {
      if (!/^(rootfs|mp\d+|unused\d+)$/.test(key)) continue;
      const [volid, ...rest] = values[key]!.split(",");
      const moved = map.get(volid!);
      if (moved) values[key] = [moved, ...rest].join(",");
    }
  };
  update(conf.main.values);
  for (const snap of conf.snapshots.values()) update(snap.values);
  if (conf.pending) update(conf.pending.values);
}

function shared(scfg: StorageEntry): boolean {
  return scfg.properties.shared === "1";
}

function storageOf(storages: readonly StorageEntry[], volid: string): StorageEntry {
  return storages.find((s) => s.id === parseVolid(volid).storage)!;
}
