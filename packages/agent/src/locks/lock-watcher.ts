import { watch, type FSWatcher } from "chokidar";
import type { Clock, Logger } from "@lockstep/shared";
import type { EventBus } from "../events/event-bus.js";
import type { LockInspector } from "./lock-inspector.js";
import { describeHolder, type LockReportView } from "./lock-report.js";

const LOCK_FILE = /pve-config-(\d+)\.lock$/;
/**
 * flock(1) and PVE::Tools::lock_file_full open the file (creating it) before they flock it, so
 * a lock file seen the instant it appears may not be held yet, and nothing on disk changes when
 * the flock comes: a new file found FREE is looked at once more after this long.
 */
const NEW_FILE_RECHECK_MS = 250;

/** What the watcher works with: `dir` is the node's lock directory (/run/lock/lxc). */
export interface LockWatcherDeps {
  readonly node: string;
  readonly dir: string;
  readonly inspector: LockInspector;
  readonly events: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Watches the lock directory with chokidar and publishes `lock-detected` when a container's
 * lock turns HELD or STALE. flock(2) itself changes nothing on disk, so what the watcher sees
 * is a lock file created or written; each event triggers an inspection, and a VMID is
 * reported again only after it was seen FREE.
 */
export class LockWatcher {
  private watcher: FSWatcher | null = null;
  private readonly reported = new Set<number>();

  private readonly node: string;
  private readonly dir: string;
  private readonly inspector: LockInspector;
  private readonly events: EventBus;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(deps: LockWatcherDeps) {
    ({
      node: this.node,
      dir: this.dir,
      inspector: this.inspector,
      events: this.events,
      clock: this.clock,
      logger: this.logger,
    } = deps);
  }

  async start(): Promise<void> {
    this.watcher = watch(this.dir, { depth: 0, ignoreInitial: false, awaitWriteFinish: false });
    this.watcher.on("add", (file) => void this.checkNewFile(file));
    this.watcher.on("change", (file) => void this.check(file));
    this.watcher.on("error", (err) => this.logger.warn("lock directory watcher failed", { err }));
    await new Promise<void>((resolve) => this.watcher!.once("ready", () => resolve()));
  }

  private async checkNewFile(file: string): Promise<void> {
    if ((await this.check(file)) !== "FREE") return;
    await this.clock.sleep(NEW_FILE_RECHECK_MS);
    await this.check(file);
  }

  /**
   * Looks again at one VMID (also used after operations finish). An inspection that fails (a
   * hung /etc/pve) is logged and reported nothing: the next event looks again. Returns the verdict
   * (null: not a lock file, or not inspected).
   */
  async check(file: string): Promise<LockReportView["verdict"] | null> {
    const m = LOCK_FILE.exec(file);
    if (!m) return null;
    const vmid = Number(m[1]);
    const report = await this.inspector.inspect(vmid).catch((err: unknown) => {
      this.logger.warn("lock inspection failed", { vmid, err: err instanceof Error ? err.message : String(err) });
      return null;
    });
    if (!report) return null;
    if (report.verdict === "FREE") {
      this.reported.delete(vmid);
    } else if (!this.reported.has(vmid)) {
      this.reported.add(vmid);
      this.events.publish({
        atMs: this.clock.now(),
        node: this.node,
        vmid,
        kind: "lock-detected",
        detail: `${report.verdict}: ${describeHolder(report)}`,
      });
    }
    return report.verdict;
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    this.watcher = null;
  }
}
