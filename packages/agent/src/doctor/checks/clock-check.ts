import { fail, firstLine, pass, warn, type CheckOutcome, type DoctorCheck } from "../check.js";
import type { DoctorContext } from "../doctor-context.js";
import { errorText } from "../run-checks.js";

/** An offset NTP time this large is a warning even while chrony slews it away. */
const OFFSET_WARNING_S = 1;

/** An answer, or why a time daemon could not be asked. */
type Asked = { readonly outcome: CheckOutcome } | { readonly unavailable: string };

/**
 * The clock is in sync (certificates, Proxmox task times and corosync depend on it). PVE 8
 * and 9 run chrony, so chronyd is asked first, read-only: `chronyc -c tracking` is a
 * monitoring request over chronyd's local socket, in chronyc's machine-readable CSV (chrony
 * client.c process_cmd_tracking / print_report), whose last field, the leap status, is
 * chronyd's own verdict: `Not synchronised` until a source has set the clock. A node running
 * another NTP daemon is asked through systemd's timedated (`timedatectl show -p
 * NTPSynchronized`: the kernel's clock-synchronised flag, whoever keeps it). When neither can be
 * asked the sync is unknown: a warning, not a failure.
 */
export const clockCheck: DoctorCheck = {
  id: "clock",
  title: "clock in sync",
  async run(ctx) {
    const chrony = await askChrony(ctx);
    if ("outcome" in chrony) return chrony.outcome;
    const timedated = ctx.tools.timedatectl
      ? await askTimedated(ctx, ctx.tools.timedatectl)
      : { unavailable: "not on this node" };
    if ("outcome" in timedated) return timedated.outcome;
    return warn(
      `no time daemon could be asked (chronyc: ${chrony.unavailable}; timedatectl: ${timedated.unavailable}): the clock's sync is unknown`,
    );
  },
};

async function askChrony(ctx: DoctorContext): Promise<Asked> {
  const run = await ctx
    .runTool([ctx.tools.chronyc, "-c", "tracking"], ctx.options.timeoutMs)
    .catch((err: unknown) => errorText(err));
  if (typeof run === "string") return { unavailable: run };
  // `506 Cannot talk to daemon` (on stdout, exit 1): chrony is installed, chronyd is not running.
  if (run.exitCode !== 0)
    return { unavailable: firstLine(run.stdout) || firstLine(run.stderr) || `exit ${run.exitCode}` };
  return { outcome: judgeChronyTracking(run.stdout) };
}

/** The verdict on `chronyc -c tracking`'s line. */
export function judgeChronyTracking(csv: string): CheckOutcome {
  // Reference ID, address, stratum, ref time, system time (correction), last offset, RMS
  // offset, frequency, residual frequency, skew, root delay, root dispersion, update interval, leap status.
  const fields = firstLine(csv).split(",");
  if (fields.length !== 14)
    return fail(`chronyc -c tracking printed ${JSON.stringify(firstLine(csv))}, not its 14 fields`);
  const [refId, address, stratum] = fields;
  const leap = fields[13]!;
  const offset = Number(fields[4]);
  if (leap === "Not synchronised") return fail(`chrony is not synchronised (stratum ${stratum}, reference ${refId})`);
  if (!["Normal", "Insert second", "Delete second"].includes(leap) || Number.isNaN(offset))
    return fail(`chronyc -c tracking: leap status ${JSON.stringify(leap)}, system time ${JSON.stringify(fields[4])}`);
  const seen = `chrony synchronised to ${address || refId} (stratum ${stratum}), ${Math.abs(offset).toFixed(6)} s ${offset > 0 ? "slow" : "fast"} of NTP time`;
  return Math.abs(offset) >= OFFSET_WARNING_S ? warn(`${seen}: still being slewed`) : pass(seen);
}

async function askTimedated(ctx: DoctorContext, timedatectl: string): Promise<Asked> {
  const run = await ctx
    .runTool([timedatectl, "show", "-p", "NTPSynchronized", "--value"], ctx.options.timeoutMs)
    .catch((err: unknown) => errorText(err));
  if (typeof run === "string") return { unavailable: run };
  // Without systemd as init (a container) it cannot reach timedated: nothing to say.
  if (run.exitCode !== 0) return { unavailable: firstLine(run.stderr) || `exit ${run.exitCode}` };
  const value = run.stdout.trim();
  if (value === "yes") return { outcome: pass("synchronised (timedatectl NTPSynchronized=yes)") };
  if (value === "no") return { outcome: fail("not synchronised (timedatectl NTPSynchronized=no)") };
  return { unavailable: `answered ${JSON.stringify(value)}` };
}
