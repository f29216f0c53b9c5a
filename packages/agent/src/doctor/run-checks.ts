import { LockstepError } from "@lockstep/shared";
import { withinBound } from "../node/within-bound.js";
import { fail, type CheckOutcome, type CheckResult, type DoctorCheck } from "./check.js";
import type { DoctorContext } from "./doctor-context.js";

// What stopping a timed-out pct takes beyond its grace: its task workers are looked up in
// /proc first (pct/process-pct-runner.ts), seconds on a loaded host.
const STOP_SLACK_MS = 5_000;

/**
 * Runs the checks one after another, each bounded: a check that has not answered within its
 * bound (the tools' own timeout plus what stopping a `pct` takes) fails with "no answer
 * within N ms", and the doctor goes on. A check that throws fails with the error's words.
 */
export async function runChecks(checks: readonly DoctorCheck[], ctx: DoctorContext): Promise<CheckResult[]> {
  const boundMs = ctx.options.timeoutMs + ctx.config.pct.terminateGraceMs + STOP_SLACK_MS;
  const results: CheckResult[] = [];
  for (const check of checks) {
    const started = ctx.clock.now();
    const work = check.run(ctx).catch((err: unknown) => fail(errorText(err)));
    const outcome: CheckOutcome = await withinBound(work, boundMs, fail(`no answer within ${boundMs} ms`));
    results.push({ id: check.id, title: check.title, ...outcome, durationMs: ctx.clock.now() - started });
  }
  return results;
}

/** An error in one line: a Lockstep error with its code. */
export function errorText(err: unknown): string {
  if (err instanceof LockstepError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
