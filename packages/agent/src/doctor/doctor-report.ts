import { formatTable } from "../cli/format-table.js";
import type { CheckResult, CheckStatus } from "./check.js";

/** One timed step of `--cycle`. */
export interface CycleStep {
  readonly step: string;
  readonly status: "pass" | "fail" | "skipped";
  readonly durationMs: number;
  readonly seen: string;
}

/** What `--cycle` did with its throwaway container. */
export interface CycleReport {
  readonly template: string;
  /** Null when no VMID was chosen (the cycle was skipped, or none was free). */
  readonly vmid: number | null;
  readonly ownershipTag: string;
  readonly steps: readonly CycleStep[];
}

/** The whole run, as `--json` prints it. */
export interface DoctorReport {
  readonly node: string;
  /** The simulated node's root, or null on a real node. */
  readonly simulate: string | null;
  readonly checks: readonly CheckResult[];
  readonly cycle: CycleReport | null;
  readonly summary: Readonly<Record<CheckStatus, number>>;
  /** No check and no cycle step failed (warnings allowed): exit status 0. */
  readonly ok: boolean;
}

/** The report of these checks and cycle. */
export function doctorReport(
  node: string,
  simulate: string | null,
  checks: readonly CheckResult[],
  cycle: CycleReport | null,
): DoctorReport {
  const count = (status: CheckStatus): number => checks.filter((c) => c.status === status).length;
  const summary = { pass: count("pass"), warn: count("warn"), fail: count("fail") };
  const cycleFailed = cycle?.steps.some((s) => s.status === "fail") ?? false;
  return { node, simulate, checks, cycle, summary, ok: summary.fail === 0 && !cycleFailed };
}

/** The report as tables for a terminal. */
export function formatReport(report: DoctorReport): string {
  const where = report.simulate ? `simulated node ${report.node} at ${report.simulate}` : `node ${report.node}`;
  const lines = [
    `lockstep-agent doctor: ${where}`,
    "",
    formatTable(
      ["CHECK", "STATUS", "TIME", "SEEN"],
      report.checks.map((c) => [c.title, c.status, duration(c.durationMs), c.seen]),
    ),
  ];
  if (report.cycle) {
    const c = report.cycle;
    lines.push(
      "",
      `cycle: template ${c.template}, ${c.vmid === null ? "no CT" : `CT ${c.vmid}`}, ownership tag ${c.ownershipTag}`,
      formatTable(
        ["STEP", "STATUS", "TIME", "SEEN"],
        c.steps.map((s) => [s.step, s.status, duration(s.durationMs), s.seen]),
      ),
    );
  }
  const s = report.summary;
  lines.push(
    "",
    `${report.checks.length} checks: ${s.pass} pass, ${s.warn} warn, ${s.fail} fail${report.cycle ? `; cycle ${cycleOutcome(report.cycle)}` : ""}`,
  );
  return lines.join("\n");
}

function cycleOutcome(cycle: CycleReport): string {
  if (cycle.steps.some((step) => step.status === "fail")) return "failed";
  return cycle.steps.every((step) => step.status === "pass") ? "passed" : "skipped";
}

function duration(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${(ms / 1_000).toFixed(1)} s`;
}
