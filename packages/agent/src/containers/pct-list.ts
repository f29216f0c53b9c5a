import type { NodeContext } from "../node/node-context.js";
import type { PctResult } from "../pct/pct-runner.js";
import { runReportingUnresponsive } from "../pct/pct-mutation.js";

// A container destroyed between `pct list` finding its config and reading it makes the list
// fail with this (the simulator does; whether Proxmox can depends on how its version reads
// the configs). It is a race with that destroy, not a broken node, and listing again is
// harmless either way.
const VANISHED = /Configuration file '[^']*' does not exist/;
const ATTEMPTS = 3;

/** Runs `pct list`, listing again (up to 3 times in all) when a container vanished under it. */
export async function runPctList(ctx: NodeContext, timeoutMs: number): Promise<PctResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await runReportingUnresponsive(ctx, 0, ["list"], { timeoutMs });
    if (result.exitCode === 0 || !VANISHED.test(result.stderr) || attempt === ATTEMPTS) return result;
  }
}
