import { createHash, randomUUID } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { containerPathProblem } from "@lockstep/shared";
import {
  CommandFailedError,
  HypervisorUnresponsiveError,
  InvalidArgumentError,
  NotRunningError,
  ResourceExhaustedError,
  VerificationFailedError,
} from "../errors.js";
import { execInContainer } from "../exec/exec-in-container.js";
import type { NodeContext } from "../node/node-context.js";
import { requireValid, requireVmid } from "../node/require-valid.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { runMutation } from "../pct/pct-mutation.js";
import { lastTaskOutcome } from "../pct/task-history.js";

export interface PushSpec {
  readonly vmid: number;
  readonly path: string;
  readonly content: Buffer;
  /** Permission bits; 0 means 0644. */
  readonly mode: number;
  readonly user: string;
  readonly group: string;
}

export interface PushOutcome {
  readonly sha256: string;
  readonly size: number;
  readonly verifyAttempts: number;
  readonly changed: boolean;
}

const OWNER = /^[a-z_][a-z0-9_-]{0,31}$|^[0-9]{1,10}$/;
// `pct push` exits 0 even when the copy failed; stderr is the only sign.
const PUSH_FAILED =
  /failed to open .* for reading|failed to create file|can only push files to a running CT|failed to /;

/**
 * Writes a file into the container and returns only once the file inside has the expected
 * size and SHA-256, read back through `pct exec`. `pct push`'s exit status proves nothing
 * (it is 0 for a failed copy) and the file may become visible later than `pct` returns, so
 * the read-back is polled with a bounded backoff — never a fixed sleep.
 */
export async function verifiedPush(
  ctx: NodeContext,
  spec: PushSpec,
  op: OperationScope,
  owner: string,
): Promise<PushOutcome> {
  validate(ctx, spec);
  const expected = { sha256: sha256(spec.content), size: spec.content.length };
  if (await matches(ctx, spec.vmid, spec.path, expected, op)) return { ...expected, verifyAttempts: 1, changed: false };
  await ensureParentDir(ctx, spec.vmid, spec.path, op);
  await push(ctx, spec, op, owner);
  const verifyAttempts = await waitUntilLanded(ctx, spec.vmid, spec.path, expected, op);
  return { ...expected, verifyAttempts, changed: true };
}

async function push(ctx: NodeContext, spec: PushSpec, op: OperationScope, owner: string): Promise<void> {
  const staged = path.join(ctx.stagingDir, `${randomUUID()}.push`);
  await writeFile(staged, spec.content, { mode: 0o600 });
  try {
    const args = ["push", String(spec.vmid), staged, spec.path, "--perms", (spec.mode || 0o644).toString(8)];
    if (spec.user) args.push("--user", spec.user);
    if (spec.group) args.push("--group", spec.group);
    const startedS = Math.floor(ctx.clock.now() / 1000);
    const result = await runMutation(ctx, spec.vmid, args, { op, owner, timeoutMs: ctx.timeouts.pushMs });
    const failure = PUSH_FAILED.exec(result.stderr);
    if (failure) {
      if (/running CT/.test(failure[0]))
        throw new NotRunningError(spec.vmid, `CT ${spec.vmid} is not running: cannot push ${spec.path}`);
      throw new CommandFailedError(
        `pct push to ${spec.path} failed although it exited 0: ${result.stderr.trim()}`,
        0,
        result.stderr,
        { vmid: String(spec.vmid) },
      );
    }
    await requirePushTaskSucceeded(ctx, spec, startedS);
  } finally {
    await rm(staged, { force: true });
  }
}

/**
 * pct push exits 0 whatever its `push_file` task ended with (pve-container src/PVE/CLI/pct.pm:
 * push is not among the `$upid_exit` commands), so a worker that died midway (its pct printed
 * `got unexpected control message`) looks like success. The task's own end line says it: a
 * push whose task failed may have left a partial file, and is an unknown outcome to retry, not
 * a file that will appear if only the read-backs wait long enough. Pushes to one VMID run one
 * at a time (the agent's serializer), so the newest push task since the call is this one's.
 */
async function requirePushTaskSucceeded(ctx: NodeContext, spec: PushSpec, startedS: number): Promise<void> {
  const task = await lastTaskOutcome(ctx.paths.tasksActive, "push_file", String(spec.vmid), startedS);
  if (task && !task.succeeded) {
    throw new HypervisorUnresponsiveError(
      `pct push to ${spec.path} in CT ${spec.vmid} exited 0, but its task ended '${task.status}': the file may be partial and is pushed again on retry`,
      { vmid: String(spec.vmid), upid: task.upid },
    );
  }
}

async function waitUntilLanded(
  ctx: NodeContext,
  vmid: number,
  file: string,
  expected: { sha256: string; size: number },
  op: OperationScope,
): Promise<number> {
  let delay = ctx.verify.initialDelayMs;
  let lastSeen = "nothing";
  for (let attempt = 1; attempt <= ctx.verify.attempts; attempt++) {
    const seen = await readBack(ctx, vmid, file, op);
    if (seen && seen.sha256 === expected.sha256 && seen.size === expected.size) return attempt;
    lastSeen = seen ? `size ${seen.size}, sha256 ${seen.sha256}` : "no file";
    if (attempt < ctx.verify.attempts) {
      await ctx.clock.sleep(delay);
      delay = Math.min(delay * 2, ctx.verify.maxDelayMs);
    }
  }
  throw new VerificationFailedError(
    `${file} in CT ${vmid} never matched what was pushed (expected size ${expected.size}, sha256 ${expected.sha256}; last saw ${lastSeen}) after ${ctx.verify.attempts} read-backs`,
    { vmid: String(vmid), path: file, expected_sha256: expected.sha256 },
  );
}

async function matches(
  ctx: NodeContext,
  vmid: number,
  file: string,
  expected: { sha256: string; size: number },
  op: OperationScope,
): Promise<boolean> {
  const seen = await readBack(ctx, vmid, file, op);
  return seen !== null && seen.sha256 === expected.sha256 && seen.size === expected.size;
}

/** The file's size and SHA-256 as the container sees them, or null when it is not there. */
async function readBack(
  ctx: NodeContext,
  vmid: number,
  file: string,
  op: OperationScope,
): Promise<{ sha256: string; size: number } | null> {
  const stat = await execInContainer(ctx, vmid, ["stat", "-c", "%s %F", file], { op });
  if (stat.exitCode !== 0) return null;
  const [size, ...type] = stat.stdout.trim().split(" ");
  if (!type.join(" ").includes("regular")) return null;
  const sum = await execInContainer(ctx, vmid, ["sha256sum", file], { op });
  if (sum.exitCode !== 0) return null;
  const hash = /^([0-9a-f]{64})\s/.exec(sum.stdout);
  return hash ? { sha256: hash[1]!, size: Number(size) } : null;
}

async function ensureParentDir(ctx: NodeContext, vmid: number, file: string, op: OperationScope): Promise<void> {
  const parent = path.posix.dirname(file);
  const result = await execInContainer(ctx, vmid, ["mkdir", "-p", parent], { op });
  if (result.exitCode !== 0)
    throw new CommandFailedError(
      `cannot create ${parent} in CT ${vmid}: ${result.stderr.trim()}`,
      result.exitCode,
      result.stderr,
      { vmid: String(vmid) },
    );
}

function validate(ctx: NodeContext, spec: PushSpec): void {
  requireVmid(spec.vmid);
  requireValid("path", spec.path, containerPathProblem);
  if (spec.path === "/") throw new InvalidArgumentError("path", "must name a file");
  if (spec.content.length > ctx.limits.pushBytes)
    throw new ResourceExhaustedError(
      `content is ${spec.content.length} bytes; at most ${ctx.limits.pushBytes} may be pushed`,
    );
  if (!Number.isInteger(spec.mode) || spec.mode < 0 || spec.mode > 0o7777)
    throw new InvalidArgumentError("mode", "must be permission bits from 0 to 07777");
  if (spec.user && !OWNER.test(spec.user)) throw new InvalidArgumentError("user", "must be a user name or numeric ID");
  if (spec.group && !OWNER.test(spec.group))
    throw new InvalidArgumentError("group", "must be a group name or numeric ID");
}

function sha256(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}
