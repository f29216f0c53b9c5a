import { access, constants } from "node:fs/promises";
import { parsePctList } from "../../pct/parse-list.js";
import { fail, firstLine, pass, warn, type DoctorCheck } from "../check.js";
import { errorText } from "../run-checks.js";
import { packageVersion, runPveversion } from "./pveversion.js";

/**
 * `pct` is where the agent runs it and answers `pct list` (through the agent's own runner and
 * parser), and its version (pve-container's, from `pveversion -v`) is known.
 */
export const pctCheck: DoctorCheck = {
  id: "pct",
  title: "pct present and answering",
  async run(ctx) {
    const pct = ctx.paths.pct;
    const missing = await access(pct, constants.X_OK).then(
      () => null,
      (err: NodeJS.ErrnoException) => err.code ?? "unusable",
    );
    if (missing) return fail(`${pct} cannot be run (${missing})`);
    const listed = await ctx.pct.run(["list"], { timeoutMs: ctx.options.timeoutMs });
    if (listed.exitCode !== 0)
      return fail(`pct list exited ${listed.exitCode}: ${firstLine(listed.stderr) || "no message"}`);
    const containers = parsePctList(listed.stdout).length;
    const version = await runPveversion(ctx, true).then(
      (r) =>
        (r.exitCode === 0 ? packageVersion(r.stdout, "pve-container") : null) ??
        `not in pveversion -v (exit ${r.exitCode})`,
      (err: unknown) => `unknown: ${errorText(err)}`,
    );
    const seen = `${pct}: pct list answered in ${listed.durationMs} ms (${containers} container${containers === 1 ? "" : "s"})`;
    return /^\d/.test(version)
      ? pass(`${seen}; pve-container ${version}`)
      : warn(`${seen}; pve-container version ${version}`);
  },
};
