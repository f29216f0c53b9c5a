import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import {
  checkSpec,
  LockstepError,
  requestIdProblem,
  runPipeline,
  systemClock,
  type AgentClient,
  type StepRecord,
} from "@lockstep/shared";
import { UsageError } from "./commands.js";

export interface ApplyOptions {
  readonly specFile?: string;
  readonly owner?: string;
  readonly keepLast?: string;
  readonly requestId?: string;
  readonly json: boolean;
  /** Where each run keeps its steps, so that a resumed run knows what the interrupted one changed. */
  readonly stateDir?: string;
}

const DEFAULT_KEEP_LAST = 5;

/**
 * `lockstep-node apply`: runs the same pipeline the API runs, against this node's agent, and
 * prints each step as it starts and ends. Running it again with the same --request-id resumes
 * an interrupted run without repeating what it already did.
 */
export async function applySpec(
  client: AgentClient,
  vmidText: string | undefined,
  options: ApplyOptions,
  write: (line: string) => void,
): Promise<number> {
  const vmid = Number(vmidText);
  if (!Number.isInteger(vmid) || vmid < 100 || vmid > 999_999_999)
    throw new UsageError(`apply needs a VMID from 100 to 999999999, got '${vmidText ?? ""}'`);
  if (!options.specFile) throw new UsageError("apply needs --spec <file.json>");
  if (!options.owner)
    throw new UsageError(
      "apply needs --owner <tag>: the container's ownership tag (lockstep-<record id> for one the API manages)",
    );
  const spec = loadSpec(options.specFile);
  const keepLast = spec.snapshot_retention?.keep_last ?? keepLastOption(options.keepLast);
  const requestIdBase = options.requestId ?? `cli-${randomUUID()}`;
  // It names the run's state file too: a path must never be smuggled in through it.
  const badId = requestIdProblem(requestIdBase);
  if (badId) throw new UsageError(`--request-id ${badId}`);
  const history = new StepHistory(options.stateDir ?? defaultStateDir(), requestIdBase);
  if (!options.json)
    write(
      `apply to CT ${vmid} as ${requestIdBase} (re-run with --request-id ${requestIdBase} to resume); keep_last ${keepLast}`,
    );
  try {
    const result = await runPipeline(
      {
        agent: client,
        vmid,
        spec,
        ownershipTag: options.owner,
        requestIdBase,
        keepLast,
        history: history.steps,
        attempt: history.attempt,
        clock: systemClock,
      },
      (record, all) => {
        history.save(all);
        write(options.json ? JSON.stringify(record) : stepLine(record));
      },
    );
    if (!options.json)
      write(
        `done: ${result.changed.length} step(s) changed something${result.changed.length ? `: ${result.changed.join(", ")}` : ""}`,
      );
    return 0;
  } catch (err) {
    if (!options.json)
      write(
        `failed: ${err instanceof LockstepError ? `${err.code}: ` : ""}${err instanceof Error ? err.message : String(err)}`,
      );
    return 1;
  }
}

/** The steps of one request ID's runs, in a file of its own. */
class StepHistory {
  readonly steps: StepRecord[];
  readonly attempt: number;
  private readonly file: string;

  constructor(dir: string, requestIdBase: string) {
    this.file = path.join(dir, `${requestIdBase}.json`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      this.steps = JSON.parse(readFileSync(this.file, "utf8")) as StepRecord[];
    } catch {
      this.steps = [];
    }
    this.attempt = Math.max(0, ...this.steps.map((s) => s.attempt)) + 1;
  }

  save(steps: readonly StepRecord[]): void {
    writeFileSync(`${this.file}.tmp`, JSON.stringify(steps));
    renameSync(`${this.file}.tmp`, this.file);
  }
}

function defaultStateDir(): string {
  return path.join(process.env.XDG_STATE_HOME ?? path.join(os.homedir(), ".local/state"), "lockstep-node", "apply");
}

function loadSpec(file: string) {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`--spec ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const checked = checkSpec(raw);
  if (!checked.ok)
    throw new UsageError(
      `--spec ${file} is not a valid spec: ${checked.problems.map((p) => `${p.pointer || "/"} ${p.reason}`).join("; ")}`,
    );
  return checked.spec;
}

function keepLastOption(value: string | undefined): number {
  if (value === undefined) return DEFAULT_KEEP_LAST;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError("--keep-last must be an integer from 1 to 1000");
  return n;
}

function stepLine(r: StepRecord): string {
  const took = r.duration_ms === null ? "" : `${r.duration_ms} ms`;
  return `${r.name.padEnd(28)} ${r.status.padEnd(9)} ${took.padStart(9)}  ${r.changed ? "changed" : "       "}  ${r.detail}`;
}
