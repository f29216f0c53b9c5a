import { ConfigError, createStreamLogger, resolveLogFormat, systemClock } from "@lockstep/shared";
import { layOutSimNode, readPmxcfsState, simPctBin } from "@lockstep/sim";
import { compileAgentConfig } from "../config/load-config.js";
import { DOCTOR_OWNER, runCycle } from "./cycle/doctor-cycle.js";
import { DOCTOR_CHECKS } from "./doctor-checks.js";
import { DOCTOR_USAGE, DoctorUsageError, parseDoctorArgs, type DoctorInvocation } from "./doctor-args.js";
import { openDoctorContext, type DoctorContext } from "./doctor-context.js";
import { doctorReport, formatReport, type CycleReport } from "./doctor-report.js";
import type { CheckResult } from "./check.js";
import { runChecks } from "./run-checks.js";

/** Where the doctor writes: its report, and one line for a usage or configuration error. */
export interface DoctorOutput {
  out(text: string): void;
  err(text: string): void;
}

/** `lockstep-agent doctor ...`: runs the checks (and the cycle), prints the report, returns the exit status. */
export async function runDoctor(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  output: DoctorOutput,
): Promise<number> {
  const prepared = prepare(argv, env, output);
  if (typeof prepared === "number") return prepared;
  const { invocation, ctx } = prepared;
  try {
    const checks = await runChecks(DOCTOR_CHECKS, ctx);
    const cycle = invocation.cycle ? await cycleAfter(checks, ctx, invocation.cycle) : null;
    const report = doctorReport(ctx.config.node, ctx.config.simulate, checks, cycle);
    output.out(`${invocation.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    await ctx.close();
  }
}

/** The command line and the configuration, checked, and the checks' context; or the exit status of a usage or configuration error. */
function prepare(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  output: DoctorOutput,
): { invocation: DoctorInvocation; ctx: ReturnType<typeof openDoctorContext> } | number {
  try {
    const invocation = parseDoctorArgs(argv, env);
    if (invocation.help) {
      output.out(`${DOCTOR_USAGE}\n`);
      return 0;
    }
    const config = compileAgentConfig({
      configPath: invocation.configPath,
      flags: invocation.flags,
      env,
      simPct: simPctBin,
    });
    // As the daemon does: a simulated node is laid out (and joins its cluster) on first use.
    // Not once its simulated pmxcfs owns /etc/pve: laying out looks into it, and a hung one
    // would hang the doctor before any check could say so.
    if (config.simulate && !readPmxcfsState(config.simulate))
      layOutSimulated(config.simulate, config.node, config.paths.pctEnv.LOCKSTEP_SIM_CLUSTER || null);
    const logger = createStreamLogger(process.stderr, {
      level: "error",
      format: resolveLogFormat(config.logging.format, process.stderr),
      bound: { service: "lockstep-agent doctor", node: config.node },
    });
    return {
      invocation,
      ctx: openDoctorContext(
        config,
        { timeoutMs: invocation.timeoutMs, storages: invocation.storages },
        systemClock,
        logger,
      ),
    };
  } catch (err) {
    if (!(err instanceof DoctorUsageError || err instanceof ConfigError)) throw err;
    output.err(
      `lockstep-agent doctor: ${err instanceof ConfigError ? `configuration: ${err.message}` : `${err.message} (see lockstep-agent doctor --help)`}\n`,
    );
    return 2;
  }
}

function layOutSimulated(root: string, node: string, cluster: string | null): void {
  try {
    layOutSimNode(root, node, cluster);
  } catch (err) {
    throw new ConfigError(`simulated node ${root}: ${(err as Error).message}`);
  }
}

/** The cycle changes the node: it runs only once every check passed. */
async function cycleAfter(
  checks: readonly CheckResult[],
  ctx: DoctorContext,
  cycle: NonNullable<DoctorInvocation["cycle"]>,
): Promise<CycleReport> {
  const failed = checks.filter((c) => c.status === "fail").map((c) => c.id);
  if (failed.length === 0) return runCycle(ctx, cycle);
  const seen = `not run: the cycle changes the node, and ${failed.join(", ")} failed`;
  return {
    template: cycle.template,
    vmid: null,
    ownershipTag: DOCTOR_OWNER,
    steps: [{ step: "cycle", status: "skipped", durationMs: 0, seen }],
  };
}
