import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sleepSync, withPrivateLock } from "../locking/flock.js";
import { PctError } from "../node/pct-error.js";
import type { SimLayout } from "../node/sim-layout.js";
import type { FaultRule } from "./fault-rule.js";

/** Where in an operation a fault may strike. */
export type FaultPoint = "before-lock" | "midway";

/** How a fault waits and writes: in `pct` plain sleeps; in a task worker the task's io. */
export interface FaultIo {
  sleep(ms: number): void;
  print(text: string): void;
}

const PCT_IO: FaultIo = { sleep: sleepSync, print: () => undefined };

/** What a hang that ends prints when its rule says `afterHang: "print"`. */
export const AFTER_HANG_LINE = "simulator: hang over, going on\n";

/**
 * The fault chosen for this invocation (at most one), acting at its point. It is chosen
 * once, in the `pct` process; a task worker gets the rule with its plan and acts on it
 * through the task's io (see `inTask`).
 */
export class ActiveFault {
  constructor(
    readonly rule: FaultRule | null,
    private readonly io: FaultIo = PCT_IO,
  ) {}

  /** The same fault acting inside a task worker: its waits notice interrupts. */
  inTask(io: FaultIo): ActiveFault {
    return new ActiveFault(this.rule, io);
  }

  /** Called by every command at each point; acts when this fault belongs there. */
  at(point: FaultPoint, failure: (message: string) => PctError = (m) => new PctError(m)): void {
    const rule = this.rule;
    if (!rule) return;
    if (point === "before-lock" && rule.action === "hang-before-lock") this.hang();
    if (point !== "midway") return;
    switch (rule.action) {
      case "hang":
        this.hang();
        return;
      case "slow":
        this.io.sleep(rule.ms ?? 1000);
        return;
      case "fail":
        throw Object.assign(
          failure(rule.message ?? "simulated failure"),
          rule.exitCode !== undefined ? { exitCode: rule.exitCode } : {},
        );
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

  /** Blocks forever or for `ms`: interruptibly in a worker unless `uninterruptible`. */
  private hang(): void {
    const rule = this.rule!;
    const sleep = rule.uninterruptible ? sleepSync : (ms: number) => this.io.sleep(ms);
    if (rule.ms === undefined) for (;;) sleep(60_000);
    sleep(rule.ms);
    if (rule.afterHang === "print") this.io.print(AFTER_HANG_LINE);
  }
}

/**
 * Picks the first rule matching this call and counts it, across processes, so that `skip`
 * and `times` hold however many simulators run at once. `exact` ignores `*` rules: a node
 * tool that is not pct (pvesh, chronyc) answers only to rules that name it.
 */
export function chooseFault(
  layout: SimLayout,
  env: NodeJS.ProcessEnv,
  command: string,
  vmid: number | null,
  options: { exact?: boolean } = {},
): ActiveFault {
  const rules = loadRules(layout, env);
  const named = (rule: FaultRule): boolean => rule.command === command || (rule.command === "*" && !options.exact);
  const matching = rules
    .map((rule, index) => ({ rule, index }))
    .filter(({ rule }) => named(rule) && (rule.vmid === undefined || rule.vmid === vmid));
  if (matching.length === 0) return new ActiveFault(null);
  const countersFile = path.join(layout.stateDir, "fault-counters.json");
  const chosen = withPrivateLock(`${countersFile}.lock`, () => {
    const counters = existsSync(countersFile)
      ? (JSON.parse(readFileSync(countersFile, "utf8")) as Record<string, number>)
      : {};
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
  const fromFile = existsSync(layout.faultsFile)
    ? parseRules(readFileSync(layout.faultsFile, "utf8"), layout.faultsFile)
    : [];
  const fromEnv = env.LOCKSTEP_SIM_FAULTS ? parseRules(env.LOCKSTEP_SIM_FAULTS, "LOCKSTEP_SIM_FAULTS") : [];
  return [...fromFile, ...fromEnv];
}

function parseRules(text: string, origin: string): FaultRule[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new PctError(`simulator: ${origin} must hold a JSON array of fault rules`, 2);
  return parsed as FaultRule[];
}
