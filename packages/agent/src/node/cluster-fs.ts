import path from "node:path";
import type { Clock, Logger } from "@lockstep/shared";
import { ClusterNoQuorumError, HypervisorUnresponsiveError } from "../errors.js";
import {
  FsOpError,
  FsOpTimeoutError,
  FsReaderGoneError,
  FsReaderProcess,
  type FsLstat,
  type FsOp,
} from "./fs-reader-process.js";
import { withinBound } from "./within-bound.js";

/**
 * The cluster filesystem's state, as Proxmox itself decides it (pve-cluster
 * src/PVE/Cluster.pm): `not-mounted` when `<pve>/local` is no symlink (check_cfs_is_mounted:
 * pmxcfs stopped leaves an empty directory), `no-quorum` when that link's mode lacks 0200
 * (check_cfs_quorum: pmxcfs serves everything read-only without quorum,
 * src/pmxcfs/cfs-plug-link.c 0777/0555), `unresponsive` when a read did not answer in time
 * (a hung pmxcfs blocks every read).
 */
export type ClusterFsState = "ok" | "unresponsive" | "not-mounted" | "no-quorum";

/** The state, why, and when it was seen. */
export interface ClusterFsStatus {
  readonly state: ClusterFsState;
  /** Why it is not `ok`, in words; empty when it is. */
  readonly detail: string;
  readonly observedAtMs: number;
}

export interface ClusterFsOptions {
  /** Where the cluster filesystem is mounted (`/etc/pve`). */
  readonly pveDir: string;
  /** Bound on each read and write. */
  readonly timeoutMs: number;
  /** Bound on the mount and quorum probe: Health answers within it. */
  readonly probeTimeoutMs: number;
  /** How many killed readers may still be stuck in the kernel before reads fail at once. */
  readonly maxStuckReaders: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called when the state changes (the daemon publishes an event). */
  readonly onChange?: (status: ClusterFsStatus, previous: ClusterFsStatus) => void;
}

/** What the rest of the agent uses of the cluster filesystem (tests give a fake of it). */
export type ClusterFsPort = Pick<
  ClusterFs,
  "status" | "probe" | "requireTrusted" | "readFile" | "listDir" | "writeFile"
>;

/** Errnos by which a read proves a file or directory missing. */
const MISSING = new Set(["ENOENT", "ENOTDIR"]);
/** How long after a first "missing" the second look is taken (see io). */
const MISSING_CONFIRM_MS = 50;

/**
 * The agent's one port to `/etc/pve`. Every read and write runs in a reader process of its own
 * (node/fs-reader-process.ts) with a timeout, never on the event loop nor in libuv's pool: a
 * read stuck in a hung pmxcfs blocks only that reader, which is killed and replaced (at most
 * `maxStuckReaders` may linger in the kernel), and marks the filesystem `unresponsive`.
 *
 * A file missing is proof of nothing unless the filesystem is trusted: `readFile` and
 * `listDir` answer "missing" only after a fresh probe found it mounted and quorate, and
 * otherwise throw HYPERVISOR_UNRESPONSIVE (hung, not mounted) or CLUSTER_NO_QUORUM.
 */
export class ClusterFs {
  private reader: FsReaderProcess | null = null;
  private readonly stuck = new Set<FsReaderProcess>();
  private prober: FsReaderProcess | null = null;
  private probing: Promise<ClusterFsStatus> | null = null;
  private current: ClusterFsStatus;

  constructor(private readonly options: ClusterFsOptions) {
    this.current = { state: "ok", detail: "", observedAtMs: options.clock.now() };
  }

  /** The state last observed, without looking again. */
  status(): ClusterFsStatus {
    return this.current;
  }

  /**
   * Looks at `<pve>/local` as Proxmox does, within `probeTimeoutMs`. One probe at a time:
   * while an earlier one is still stuck, the answer is `unresponsive` at once, and that
   * probe's late answer (pmxcfs resumed) is what brings the state back.
   */
  probe(): Promise<ClusterFsStatus> {
    if (this.probing) return this.probing;
    if (this.prober && !this.prober.idle) return Promise.resolve(this.current);
    this.probing = this.runProbe().finally(() => (this.probing = null));
    return this.probing;
  }

  /** Throws unless a fresh probe finds the filesystem `ok`: before anything is changed. */
  async requireTrusted(what: string): Promise<void> {
    const status = await this.probe();
    if (status.state !== "ok") throw untrustedError(status, what);
  }

  /** A file's text; null only when it is missing AND the filesystem is trusted. */
  async readFile(file: string): Promise<string | null> {
    return (await this.io("read", file)) as string | null;
  }

  /** A directory's entries; null only when it is missing AND the filesystem is trusted. */
  async listDir(dir: string): Promise<string[] | null> {
    return (await this.io("readdir", dir)) as string[] | null;
  }

  /** Replaces a file as Proxmox writes into /etc/pve (a temporary file, then a rename). */
  async writeFile(file: string, text: string): Promise<void> {
    await this.io("write", file, text);
  }

  /** Kills every reader; the agent is stopping. */
  async close(): Promise<void> {
    const readers = [this.reader, this.prober, ...this.stuck].filter((r): r is FsReaderProcess => r !== null);
    this.reader = this.prober = null;
    for (const reader of readers) reader.kill();
    await Promise.race([
      Promise.all(readers.map((r) => r.exited)),
      this.options.clock.sleep(this.options.probeTimeoutMs),
    ]);
  }

  /**
   * One "missing" is not proof: pmxcfs runs libfuse 2's high-level API without `hard_remove`
   * (pve-cluster src/pmxcfs/pmxcfs.c main: `-odefault_permissions -oallow_other -obig_writes`),
   * so a config renamed over while anyone has it open is first renamed aside (libfuse fuse.c
   * fuse_lib_rename -> hide_node, `.fuse_hidden*`), and for that moment its name is gone. A
   * read answers "missing" only when /etc/pve is trusted and a second look a moment later agrees.
   */
  private async io(op: FsOp, file: string, text?: string, secondLook = false): Promise<unknown> {
    // Unresponsive: look again first, so one stuck file does not condemn the rest for good.
    if (this.current.state === "unresponsive" && (await this.probe()).state === "unresponsive")
      throw untrustedError(this.current, `${op} ${file}`);
    const reader = this.liveReader(`${op} ${file}`);
    try {
      return await reader.request(op, file, this.options.timeoutMs, text);
    } catch (err) {
      if (err instanceof FsOpError && MISSING.has(err.code) && op !== "write") {
        await this.requireTrusted(`treat ${file} as missing`);
        if (secondLook) return null;
        await this.options.clock.sleep(MISSING_CONFIRM_MS);
        return this.io(op, file, text, true);
      }
      if (err instanceof FsOpError && op === "write") {
        // pmxcfs refuses writes without quorum (EACCES, src/pmxcfs/pmxcfs.c cfs_fuse_*).
        await this.requireTrusted(`write ${file}`);
        throw new Error(`cannot write ${file}: ${err.message}`, { cause: err });
      }
      if (err instanceof FsOpTimeoutError) {
        this.abandon(reader);
        this.observe({ state: "unresponsive", detail: `${err.message} (pmxcfs hung?)` });
        throw untrustedError(this.current, `${op} ${file}`);
      }
      if (err instanceof FsReaderGoneError)
        throw new HypervisorUnresponsiveError(`${op} ${file}: ${err.message}`, {
          cluster_fs: this.current.state,
          path: file,
        });
      throw err;
    }
  }

  private async runProbe(): Promise<ClusterFsStatus> {
    const local = path.join(this.options.pveDir, "local");
    if (!this.prober?.alive) this.prober = new FsReaderProcess();
    // The bound is pmxcfs's, not Node's start-up: it counts from a running prober.
    const running = await this.prober.started().then(
      () => true,
      () => false,
    );
    if (!running) return this.observe({ state: "unresponsive", detail: `the prober of ${local} did not start` });
    const answer = this.prober.request("lstat", local, null).then(
      (st) => clusterFsStateOf(local, st as FsLstat),
      (err: unknown) => judgeLocalError(local, err),
    );
    const found = await withinBound(answer, this.options.probeTimeoutMs, null);
    if (found) return this.observe(found);
    // Left to run: pmxcfs answers it when it resumes, and that answer is the new state.
    void answer.then((late) => this.observe(late));
    return this.observe({
      state: "unresponsive",
      detail: `lstat of ${local} did not answer within ${this.options.probeTimeoutMs} ms (pmxcfs hung?)`,
    });
  }

  private liveReader(what: string): FsReaderProcess {
    if (this.reader?.alive) return this.reader;
    if (this.stuck.size >= this.options.maxStuckReaders) {
      throw new HypervisorUnresponsiveError(
        `${what}: ${this.stuck.size} readers killed while stuck in ${this.options.pveDir} have not exited; no new one is started`,
        { cluster_fs: "unresponsive" },
      );
    }
    this.reader = new FsReaderProcess();
    return this.reader;
  }

  /** Kills a reader stuck in the kernel; it counts against the bound until it has exited. */
  private abandon(reader: FsReaderProcess): void {
    if (this.reader === reader) this.reader = null;
    this.stuck.add(reader);
    reader.kill();
    void reader.exited.then(() => this.stuck.delete(reader));
  }

  private observe(seen: Omit<ClusterFsStatus, "observedAtMs">): ClusterFsStatus {
    const previous = this.current;
    this.current = { ...seen, observedAtMs: this.options.clock.now() };
    if (previous.state !== seen.state) {
      if (seen.state === "ok")
        this.options.logger.info("cluster filesystem is trusted again", {
          pveDir: this.options.pveDir,
          was: previous.state,
        });
      else
        this.options.logger.warn("cluster filesystem is not trusted", {
          pveDir: this.options.pveDir,
          state: seen.state,
          detail: seen.detail,
        });
      this.options.onChange?.(this.current, previous);
    }
    return this.current;
  }
}

/** pve-cluster src/PVE/Cluster.pm check_cfs_is_mounted, then check_cfs_quorum, on one lstat of `<pve>/local`. */
export function clusterFsStateOf(local: string, st: FsLstat): Omit<ClusterFsStatus, "observedAtMs"> {
  if (!st.symlink)
    return {
      state: "not-mounted",
      detail: `pve configuration filesystem (pmxcfs) not mounted: ${local} is not a symlink`,
    };
  if ((st.mode & 0o200) === 0)
    return {
      state: "no-quorum",
      detail: `cluster not ready - no quorum? (${local} is mode ${(st.mode & 0o777).toString(8)})`,
    };
  return { state: "ok", detail: "" };
}

// Perl's `-l` is false on any error: whatever keeps lstat from the link, pmxcfs is not there.
function judgeLocalError(local: string, err: unknown): Omit<ClusterFsStatus, "observedAtMs"> {
  const why = err instanceof FsOpError ? err.code : err instanceof Error ? err.message : String(err);
  if (err instanceof FsReaderGoneError) return { state: "unresponsive", detail: `lstat of ${local}: ${why}` };
  return { state: "not-mounted", detail: `pve configuration filesystem (pmxcfs) not mounted: lstat ${local}: ${why}` };
}

/** The error an operation gets while the filesystem is not `ok`. */
export function untrustedError(
  status: ClusterFsStatus,
  what: string,
): HypervisorUnresponsiveError | ClusterNoQuorumError {
  const message = `cannot ${what}: the cluster filesystem is ${status.state}: ${status.detail}`;
  if (status.state === "no-quorum") return new ClusterNoQuorumError(message);
  return new HypervisorUnresponsiveError(message, { cluster_fs: status.state });
}
