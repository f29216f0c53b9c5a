import { unitNameProblem } from "@lockstep/shared";
import { CommandFailedError, VerificationFailedError } from "../errors.js";
import { execInContainer, type ExecOutcome } from "../exec/exec-in-container.js";
import type { NodeContext } from "../node/node-context.js";
import { requireValid, requireVmid } from "../node/require-valid.js";
import { verifiedPush } from "./verified-push.js";
import type { OperationScope } from "../pct/operation-scope.js";

export interface ServiceSpec {
  readonly vmid: number;
  readonly unit: string;
  readonly content: Buffer;
  readonly enable: boolean;
  readonly start: boolean;
}

export interface ServiceOutcome {
  readonly unitChanged: boolean;
  readonly enabled: boolean;
  readonly active: boolean;
  readonly enableAttempts: number;
  readonly changed: boolean;
}

/**
 * Installs a systemd unit the way that survives the push race: verified push (the unit file
 * is really there, checksum read back inside the container), then `daemon-reload`, then
 * `enable`/`start`. If systemd still has not seen the unit, reload and try again within the
 * verify bounds instead of sleeping a fixed time. Ends by checking is-enabled/is-active.
 */
export async function ensureService(
  ctx: NodeContext,
  spec: ServiceSpec,
  op: OperationScope,
  owner: string,
): Promise<ServiceOutcome> {
  requireVmid(spec.vmid);
  requireValid("unit", spec.unit, unitNameProblem);
  const push = await verifiedPush(
    ctx,
    {
      vmid: spec.vmid,
      path: `/etc/systemd/system/${spec.unit}`,
      content: spec.content,
      mode: 0o644,
      user: "",
      group: "",
    },
    op,
    owner,
  );
  const run = (argv: string[]): Promise<ExecOutcome> => execInContainer(ctx, spec.vmid, argv, { op });
  if (push.changed) await systemctl(run, ["daemon-reload"]);

  let enableAttempts = 0;
  let changed = push.changed;
  if (spec.enable && !(await isEnabled(run, spec.unit))) {
    enableAttempts = await untilSeen(ctx, run, ["enable", spec.unit]);
    changed = true;
  }
  if (spec.start) {
    const active = await isActive(run, spec.unit);
    if (!active || push.changed) {
      await untilSeen(ctx, run, [active ? "restart" : "start", spec.unit]);
      changed = true;
    }
  }
  return verifyFinalState(spec, run, { unitChanged: push.changed, enableAttempts, changed });
}

async function verifyFinalState(
  spec: ServiceSpec,
  run: (argv: string[]) => Promise<ExecOutcome>,
  partial: { unitChanged: boolean; enableAttempts: number; changed: boolean },
): Promise<ServiceOutcome> {
  const enabled = await isEnabled(run, spec.unit);
  const active = await isActive(run, spec.unit);
  if ((spec.enable && !enabled) || (spec.start && !active)) {
    throw new VerificationFailedError(
      `${spec.unit} in CT ${spec.vmid} is ${enabled ? "enabled" : "not enabled"} and ${active ? "active" : "not active"} after setup`,
      { vmid: String(spec.vmid), unit: spec.unit },
    );
  }
  return { ...partial, enabled, active };
}

/**
 * Runs a systemctl verb that needs systemd to know the unit, reloading and retrying with
 * backoff while it answers that the unit does not exist. Returns the attempts it took.
 */
async function untilSeen(
  ctx: NodeContext,
  run: (argv: string[]) => Promise<ExecOutcome>,
  args: string[],
): Promise<number> {
  let delay = ctx.verify.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    const result = await run(["systemctl", ...args]);
    if (result.exitCode === 0) return attempt;
    const unseen = /does not exist|not found|No such file/i.test(result.stderr);
    if (!unseen || attempt >= ctx.verify.attempts) {
      throw new CommandFailedError(
        `systemctl ${args.join(" ")} failed in the container after ${attempt} attempt(s): ${result.stderr.trim()}`,
        result.exitCode,
        result.stderr,
      );
    }
    await ctx.clock.sleep(delay);
    delay = Math.min(delay * 2, ctx.verify.maxDelayMs);
    await systemctl(run, ["daemon-reload"]);
  }
}

async function systemctl(run: (argv: string[]) => Promise<ExecOutcome>, args: string[]): Promise<void> {
  const result = await run(["systemctl", ...args]);
  if (result.exitCode !== 0)
    throw new CommandFailedError(
      `systemctl ${args.join(" ")} failed: ${result.stderr.trim()}`,
      result.exitCode,
      result.stderr,
    );
}

async function isEnabled(run: (argv: string[]) => Promise<ExecOutcome>, unit: string): Promise<boolean> {
  const result = await run(["systemctl", "is-enabled", unit]);
  return result.exitCode === 0 && result.stdout.trim() === "enabled";
}

async function isActive(run: (argv: string[]) => Promise<ExecOutcome>, unit: string): Promise<boolean> {
  const result = await run(["systemctl", "is-active", unit]);
  return result.exitCode === 0 && result.stdout.trim() === "active";
}
