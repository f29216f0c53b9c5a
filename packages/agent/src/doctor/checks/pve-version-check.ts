import { fail, firstLine, pass, warn, type DoctorCheck } from "../check.js";
import { parsePveversion, runPveversion } from "./pveversion.js";

/** The PVE major versions whose sources the agent follows (and the simulator reproduces). */
const SUPPORTED_PVE_MAJORS = [8, 9] as const;

/** The node's PVE major version is one the agent follows; older ones fail, newer ones warn. */
export const pveVersionCheck: DoctorCheck = {
  id: "pve-version",
  title: "PVE major version",
  async run(ctx) {
    const result = await runPveversion(ctx, false);
    if (result.exitCode !== 0)
      return fail(`pveversion exited ${result.exitCode}: ${firstLine(result.stderr) || "no message"}`);
    const version = parsePveversion(result.stdout);
    if (!version)
      return fail(`pveversion printed ${JSON.stringify(firstLine(result.stdout))}, not pve-manager/<version>/<repoid>`);
    return judgePveMajor(
      version.major,
      `PVE ${version.major} (pve-manager ${version.version}, kernel ${version.kernel})`,
    );
  },
};

/** PVE 8 and 9 pass; older fail (their tools differ where the agent decides); newer warn (untested). */
export function judgePveMajor(major: number, seen: string): ReturnType<typeof pass> {
  const [oldest, newest] = [SUPPORTED_PVE_MAJORS[0], SUPPORTED_PVE_MAJORS[SUPPORTED_PVE_MAJORS.length - 1]!];
  if (major < oldest) return fail(`${seen}: PVE ${oldest} or ${newest} is needed`);
  if (major > newest) return warn(`${seen}: newer than the PVE ${newest} the agent follows; not tested`);
  return pass(seen);
}
