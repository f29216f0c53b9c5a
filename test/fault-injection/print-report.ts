import os from "node:os";
import type { ScenarioReport } from "./run-scenario.js";

/** The invariants as figures, each marked held or broken, with what broke it. */
export function printReport(report: ScenarioReport, print: (line: string) => void): void {
  for (const result of report.results) {
    print(`  ${result.violations.length ? "BROKEN" : "held  "} ${result.name}: ${result.figures}`);
    for (const v of result.violations.slice(0, 20)) print(`           - ${v}`);
    if (result.violations.length > 20) print(`           - ... and ${result.violations.length - 20} more`);
  }
  print(
    `  seed ${report.seed} ${report.passed ? "passed" : "FAILED"} in ${report.seconds.toFixed(0)} s; ` +
      `the host's 1-minute load peaked at ${report.peakLoad.toFixed(1)} on ${os.availableParallelism()} CPUs`,
  );
  if (report.evidence) print(`  evidence (process logs, node roots): ${report.evidence}`);
}
