import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { stateStorageFailure } from "./storage-failure.js";

/**
 * What the agent is about to do to a VMID that leaves no mark of its own on the node: a
 * `pct create` whose placeholder (`lock: create` alone) carries no marker, a `pct destroy`
 * whose leftover (`lock: destroyed` alone) carries none either. Written durably BEFORE the
 * `pct` call, removed once its outcome is definite, so that after a crash or a killed call
 * the agent can prove such a leftover is its own.
 */
export interface OperationIntent {
  readonly op: "create" | "destroy";
  readonly vmid: number;
  /** The ownership tag the create or destroy acted for (empty for a destroy recorded before destroys carried one). */
  readonly ownershipTag: string;
  readonly requestId: string;
  readonly startedMs: number;
  /**
   * A create whose `pct create` exited 0: the container is complete and only its ownership tag
   * may be missing (the agent stopped or `pct set` failed before it was added).
   */
  readonly created?: boolean;
}

/**
 * One small file per VMID under the state directory (`intents/<vmid>.json`), replaced
 * atomically (write, fsync, rename, fsync the directory). A write on a full disk fails with
 * STATE_STORAGE_FULL before `pct` runs, so no unprovable leftover can be made.
 */
export class OperationIntents {
  /** Over an existing directory; `open` creates it. */
  constructor(private readonly dir: string) {}

  /** Opens (creating) the directory. */
  static async open(dir: string): Promise<OperationIntents> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new OperationIntents(dir);
  }

  /** Records `intent` durably, replacing any earlier one for its VMID. */
  async record(intent: OperationIntent): Promise<void> {
    const file = this.fileOf(intent.vmid);
    const temp = `${file}.tmp`;
    try {
      const handle = await open(temp, "w", 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(intent)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
      const dirHandle = await open(this.dir, "r");
      try {
        await dirHandle.sync();
      } finally {
        await dirHandle.close();
      }
    } catch (err) {
      await rm(temp, { force: true });
      throw stateStorageFailure(
        `cannot record the intent to ${intent.op} CT ${intent.vmid}: ${err instanceof Error ? err.message : String(err)}`,
        err,
        { vmid: String(intent.vmid) },
      );
    }
  }

  /** The intent recorded for `vmid`, or null. An unreadable file counts as none (it proves nothing). */
  async get(vmid: number): Promise<OperationIntent | null> {
    try {
      const parsed = JSON.parse(await readFile(this.fileOf(vmid), "utf8")) as Partial<OperationIntent>;
      const valid =
        (parsed.op === "create" || parsed.op === "destroy") &&
        parsed.vmid === vmid &&
        typeof parsed.ownershipTag === "string" &&
        typeof parsed.requestId === "string";
      return valid ? (parsed as OperationIntent) : null;
    } catch {
      return null;
    }
  }

  /** Forgets the intent for `vmid` once the operation's outcome is definite. */
  async clear(vmid: number): Promise<void> {
    await rm(this.fileOf(vmid), { force: true });
  }

  private fileOf(vmid: number): string {
    return path.join(this.dir, `${vmid}.json`);
  }
}
