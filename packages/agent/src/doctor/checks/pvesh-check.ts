import { fail, firstLine, pass, type DoctorCheck } from "../check.js";

/** `pvesh get /version`: the node's API answers, and with which pve-manager. */
export const pveshCheck: DoctorCheck = {
  id: "pvesh",
  title: "pvesh present and answering",
  async run(ctx) {
    const result = await ctx.runTool(
      [ctx.tools.pvesh, "get", "/version", "--output-format", "json"],
      ctx.options.timeoutMs,
    );
    if (result.exitCode !== 0)
      return fail(`pvesh get /version exited ${result.exitCode}: ${firstLine(result.stderr) || "no message"}`);
    // pve-manager PVE/API2.pm `version`: version, release, repoid (and datacenter.cfg's console).
    let answer: { version?: unknown; release?: unknown; repoid?: unknown };
    try {
      answer = JSON.parse(result.stdout) as typeof answer;
    } catch {
      return fail(`pvesh get /version printed no JSON: ${JSON.stringify(firstLine(result.stdout))}`);
    }
    if (typeof answer.version !== "string" || typeof answer.release !== "string")
      return fail(`pvesh get /version names no version and release: ${firstLine(result.stdout)}`);
    return pass(
      `${ctx.tools.pvesh}: pve-manager ${answer.version} (release ${answer.release}, repoid ${String(answer.repoid)}) in ${result.durationMs} ms`,
    );
  },
};
