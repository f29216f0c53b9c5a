import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { readConfigFile } from "../../containers/container-reader.js";
import { createContainer } from "../../containers/create-container.js";
import { destroyContainer } from "../../containers/destroy-container.js";
import { requireOwned } from "../../containers/require-owned.js";
import { execInContainer } from "../../exec/exec-in-container.js";
import { verifiedPush } from "../../files/verified-push.js";
import type { NodeContext } from "../../node/node-context.js";
import { ownOperation, type OperationScope } from "../../pct/operation-scope.js";
import { pruneSnapshots } from "../../snapshots/prune-snapshots.js";
import { createSnapshot } from "../../snapshots/snapshot-commands.js";
import type { DoctorContext } from "../doctor-context.js";
import type { CycleReport, CycleStep } from "../doctor-report.js";
import { errorText } from "../run-checks.js";
import { cycleContext } from "./cycle-context.js";
import { freeVmid } from "./free-vmid.js";

/** The cycle's own ownership tag: it touches no container that does not carry it. */
export const DOCTOR_OWNER = "lockstep-doctor";
const HOSTNAME = "lockstep-doctor";
const FILE = "/root/lockstep-doctor.txt";
const SNAPSHOT_PREFIX = "doctor";

export interface CycleOptions {
  readonly template: string;
  /** Where its root filesystem goes. */
  readonly storage: string;
  /** The first VMID to try. */
  readonly vmidFrom: number;
}

/**
 * Creates a throwaway container on a free VMID and takes it through the agent's own code
 * paths, each step timed: create (and start), push a file and verify it by checksum, run a
 * command, two snapshots, prune to the newest, destroy. After a failed step the rest are
 * skipped, but the destroy runs whenever the create was tried: what the cycle made is
 * removed, and only what carries its ownership tag.
 */
export async function runCycle(ctx: DoctorContext, options: CycleOptions): Promise<CycleReport> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "lockstep-doctor-"));
  try {
    const node = await cycleContext(ctx, workDir);
    const steps: CycleStep[] = [];
    const run = stepRunner(ctx, steps);
    const chosen: { vmid: number | null } = { vmid: null };
    await run("free VMID", async () => {
      chosen.vmid = await freeVmid(node, options.vmidFrom);
      return `CT ${chosen.vmid}: no container or VM of the cluster holds it`;
    });
    const ct = chosen.vmid;
    if (ct === null)
      return { template: options.template, vmid: null, ownershipTag: DOCTOR_OWNER, steps: skipRest(steps) };
    const created = await run("create", () => create(node, ct, options));
    const content = Buffer.from(`lockstep-agent doctor ${new Date(ctx.clock.now()).toISOString()} ${randomUUID()}\n`);
    const body = [
      ["push", () => push(node, ct, content)],
      ["exec", () => exec(node, ct, content)],
      ["snapshot", () => snapshot(node, ct)],
      ["prune", () => prune(node, ct)],
    ] as const;
    let ok = created;
    for (const [name, work] of body) ok = ok ? await run(name, work) : skip(steps, name);
    // Whatever the create left, even half-made: destroyContainer removes only what carries the tag.
    if (steps.some((s) => s.step === "create" && s.status !== "skipped")) await run("destroy", () => destroy(node, ct));
    return { template: options.template, vmid: ct, ownershipTag: DOCTOR_OWNER, steps };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

type Step = (name: string, work: () => Promise<string>) => Promise<boolean>;

function stepRunner(ctx: DoctorContext, steps: CycleStep[]): Step {
  return async (name, work) => {
    const started = ctx.clock.now();
    const outcome = await work().then(
      (seen) => ({ status: "pass" as const, seen }),
      (err: unknown) => ({ status: "fail" as const, seen: errorText(err) }),
    );
    steps.push({ step: name, ...outcome, durationMs: ctx.clock.now() - started });
    return outcome.status === "pass";
  };
}

function skip(steps: CycleStep[], name: string): false {
  steps.push({ step: name, status: "skipped", durationMs: 0, seen: "an earlier step failed" });
  return false;
}

function skipRest(steps: CycleStep[]): CycleStep[] {
  for (const name of ["create", "push", "exec", "snapshot", "prune", "destroy"]) skip(steps, name);
  return steps;
}

/** Each step is one operation of the agent's own, with a request ID of its own. */
const operation = (node: NodeContext, step: string): OperationScope =>
  ownOperation(`doctor-${step}-${randomUUID()}`, node.logger);

async function create(node: NodeContext, vmid: number, options: CycleOptions): Promise<string> {
  const spec = {
    vmid,
    template: options.template,
    hostname: HOSTNAME,
    cores: 1,
    memoryMb: 256,
    swapMb: 0,
    storage: options.storage,
    diskGb: 1,
    net0: "",
    unprivileged: true,
    features: "",
    tags: [],
    description: "lockstep-agent doctor --cycle: a throwaway container, destroyed by the doctor",
    start: true,
  };
  const out = await createContainer(node, spec, DOCTOR_OWNER, operation(node, "create"));
  if (out.alreadyExisted) throw new Error(`CT ${vmid} already carried ${DOCTOR_OWNER}: another doctor's cycle?`);
  return `CT ${vmid} from ${options.template} on ${options.storage}: ${out.container.status}, tagged ${DOCTOR_OWNER}`;
}

async function push(node: NodeContext, vmid: number, content: Buffer): Promise<string> {
  const owner = await requireOwned(node, vmid, DOCTOR_OWNER, "push a file into it");
  const out = await verifiedPush(
    node,
    { vmid, path: FILE, content, mode: 0o600, user: "", group: "" },
    operation(node, "push"),
    owner,
  );
  return `${FILE}: ${out.size} bytes, sha256 ${out.sha256.slice(0, 12)}... read back after ${out.verifyAttempts} look${out.verifyAttempts === 1 ? "" : "s"}`;
}

async function exec(node: NodeContext, vmid: number, content: Buffer): Promise<string> {
  await requireOwned(node, vmid, DOCTOR_OWNER, "run a command in it");
  const out = await execInContainer(node, vmid, ["cat", FILE], { op: operation(node, "exec") });
  if (out.exitCode !== 0 || out.stdout !== content.toString())
    throw new Error(
      `cat ${FILE} exited ${out.exitCode} with ${JSON.stringify(out.stdout.slice(0, 80))}, not the pushed content`,
    );
  return `cat ${FILE} exited 0 with the pushed content (${out.durationMs} ms)`;
}

async function snapshot(node: NodeContext, vmid: number): Promise<string> {
  const owner = await requireOwned(node, vmid, DOCTOR_OWNER, "snapshot it");
  const names = [`${SNAPSHOT_PREFIX}-1`, `${SNAPSHOT_PREFIX}-2`];
  for (const name of names) await createSnapshot(node, vmid, name, "", operation(node, "snapshot"), owner);
  return `took ${names.join(" and ")}`;
}

async function prune(node: NodeContext, vmid: number): Promise<string> {
  const owner = await requireOwned(node, vmid, DOCTOR_OWNER, "prune its snapshots");
  const out = await pruneSnapshots(node, vmid, 1, SNAPSHOT_PREFIX, operation(node, "prune"), owner);
  if (out.failed.length > 0)
    throw new Error(`prune failed on ${out.failed.map((f) => `${f.name} (${f.code}: ${f.message})`).join(", ")}`);
  if (out.deleted.join() !== `${SNAPSHOT_PREFIX}-1` || out.kept.join() !== `${SNAPSHOT_PREFIX}-2`)
    throw new Error(
      `prune to 1 deleted [${out.deleted.join(", ")}] and kept [${out.kept.join(", ")}], not the oldest and the newest`,
    );
  return `kept the newest (${out.kept.join(", ")}), deleted ${out.deleted.join(", ")}`;
}

async function destroy(node: NodeContext, vmid: number): Promise<string> {
  const out = await destroyContainer(
    node,
    vmid,
    { force: true, purge: true },
    operation(node, "destroy"),
    DOCTOR_OWNER,
  );
  if ((await readConfigFile(node, vmid)) !== null)
    throw new Error(`CT ${vmid}'s config is still there after pct destroy`);
  return out.alreadyGone ? `CT ${vmid} was already gone` : `CT ${vmid} destroyed (stopped first), its config gone`;
}
