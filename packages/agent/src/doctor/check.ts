import type { DoctorContext } from "./doctor-context.js";

/** A check's verdict: `warn` is something to look at that does not stop the agent. */
export type CheckStatus = "pass" | "warn" | "fail";

/** A verdict and what was seen, in words an admin reads. */
export interface CheckOutcome {
  readonly status: CheckStatus;
  readonly seen: string;
}

/** One row of the doctor's report. */
export interface CheckResult extends CheckOutcome {
  readonly id: string;
  readonly title: string;
  readonly durationMs: number;
}

/** One assumption the agent makes about its node, checked there. */
export interface DoctorCheck {
  /** Stable, for scripts reading --json. */
  readonly id: string;
  readonly title: string;
  run(ctx: DoctorContext): Promise<CheckOutcome>;
}

export const pass = (seen: string): CheckOutcome => ({ status: "pass", seen });
export const warn = (seen: string): CheckOutcome => ({ status: "warn", seen });
export const fail = (seen: string): CheckOutcome => ({ status: "fail", seen });

/** The first line of a tool's output, for a table cell. */
export function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.trim() ?? "";
}
