import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sleepSync, withPrivateLock } from "../locking/flock.js";
import { PctError } from "../node/pct-error.js";
import type { SimLayout } from "../node/sim-layout.js";
import type { FaultRule } from "./fault-rule.js";

/** Where in an operation a fault may strike. */
export type FaultPoint = "before-lock" | "midway";

/** The fault chosen for this invocation (at most one), acting at its point. */
export class ActiveFault {
  constructor(readonly rule: FaultRule | null) {}

  /** Called by every command at each point; acts when this fault belongs there. */
  at(point: FaultPoint, failure: (message: string) => PctError = (m) => new PctError(m)): void {
    const rule = this.rule;
    if (!rule) return;
    if (point === "before-lock" && rule.action === "hang-before-lock") hang(rule.ms);
    if (point !== "midway") return;
    switch (rule.action) {
      case "hang":
        hang(rule.ms);
        return;
      case "slow":
        sleepSync(rule.ms ?? 1000);
        return;
      case "fail":
        throw Object.assign(failure(rule.message ?? "simulated failure"), rule.exitCode !== undefined ? { exitCode: rule.exitCode } : {});
      case "crash":
        // What a kill -9 or a power cut mid-operation leaves: the lock: property, no cleanup.
        process.kill(process.pid, "SIGKILL");
        sleepSync(10_000);
        return;
      default:
        return;
    }
  }

  /** For push: how long the file stays invisible, or 0. */
  get visibilityDelayMs(): number {
    return this.rule?.action === "delay-visibility" ? (this.rule.ms ?? 1500) : 0;
  }
}

function hang(ms: number | undefined): void {
  if (ms !== undefined) return sleepSync(ms);
  for (;;) sleepSync(60_000);
}

/**
 * Picks the first rule matching this call and counts it, across processes, so that `skip`
 * and `times` hold however many simulators run at once.
 */
export function chooseFault(layout: SimLayout, env: NodeJS.ProcessEnv, command: string, vmid: number | null): ActiveFault {
  const rules = loadRules(layout, env);
  const matching = rules.map((rule, index) => ({ rule, index })).filter(({ rule }) => (rule.command === "*" || rule.command === command) && (rule.vmid === undefined || rule.vmid === vmid));
  if (matching.length === 0) return new ActiveFault(null);
  const countersFile = path.join(layout.stateDir, "fault-counters.json");
  const chosen = withPrivateLock(`${countersFile}.lock`, () => {
    const counters = existsSync(countersFile) ? (JSON.parse(readFileSync(countersFile, "utf8")) as Record<string, number>) : {};
    let picked: FaultRule | null = null;
    for (const { rule, index } of matching) {
      const key = `${index}:${JSON.stringify(rule)}`;
      const n = (counters[key] ?? 0) + 1;
      counters[key] = n;
      const skip = rule.skip ?? 0;
      if (!picked && n > skip && (rule.times === undefined || n <= skip + rule.times)) picked = rule;
    }
    writeFileSync(countersFile, JSON.stringify(counters));
    return picked;
  });
  return new ActiveFault(chosen);
}

function loadRules(layout: SimLayout, env: NodeJS.ProcessEnv): FaultRule[] {
  const fromFile = existsSync(layout.faultsFile) ? parseRules(readFileSync(layout.faultsFile, "utf8"), layout.faultsFile) : [];
  const fromEnv = env.LOCKSTEP_SIM_FAULTS ? parseRules(env.LOCKSTEP_SIM_FAULTS, "LOCKSTEP_SIM_FAULTS") : [];
  return [...fromFile, ...fromEnv];
}

function parseRules(text: string, origin: string): FaultRule[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new PctError(`simulator: ${origin} must hold a JSON array of fault rules`, 2);
  return parsed as FaultRule[];
}
