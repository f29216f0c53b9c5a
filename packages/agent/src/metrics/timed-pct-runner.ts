import { LockstepError } from "@lockstep/shared";
import type { PctResult, PctRunner, PctRunOptions } from "../pct/pct-runner.js";

/** Where a `pct` call's time goes: its subcommand, its outcome, its seconds. */
export interface PctObserver {
  observePct(command: string, outcome: string, seconds: number): void;
}

// Subcommands are the agent's own argv, never a caller's; anything unexpected is pooled.
const SUBCOMMAND = /^[a-z][a-z-]{0,31}$/;

/**
 * A PctRunner that times every call: outcome `ok` (exit 0), `exit-nonzero`, or the reason
 * code of a call that did not end on its own (a timeout is HYPERVISOR_UNRESPONSIVE).
 */
export function timedPctRunner(runner: PctRunner, observer: PctObserver): PctRunner {
  return {
    async run(args: readonly string[], options?: PctRunOptions): Promise<PctResult> {
      const command = SUBCOMMAND.test(args[0] ?? "") ? args[0]! : "other";
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const result = await runner.run(args, options);
        observer.observePct(command, result.exitCode === 0 ? "ok" : "exit-nonzero", seconds());
        return result;
      } catch (err) {
        observer.observePct(command, err instanceof LockstepError ? err.code : "INTERNAL", seconds());
        throw err;
      }
    },
  };
}
