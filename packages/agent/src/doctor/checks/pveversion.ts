import type { DoctorContext } from "../doctor-context.js";
import type { ToolResult } from "../tool-runner.js";

/** What `pveversion` prints on its one line. */
export interface PveVersion {
  /** The PVE major version (pve-manager's). */
  readonly major: number;
  /** pve-manager's version, e.g. `9.2.11`. */
  readonly version: string;
  readonly repoid: string;
  readonly kernel: string;
}

// pve-manager bin/pveversion: `pve-manager/<version>/<repoid> (running kernel: <uname -r>)`
// (PVE/pvecfg.pm version_text is `<version>/<repoid>`).
const SHORT = /^pve-manager\/((\d+)\.[^/\s]+)\/([0-9a-fA-F]+) \(running kernel: (\S+)\)$/;

/** Parses `pveversion`'s line; null for anything else. */
export function parsePveversion(text: string): PveVersion | null {
  const m = SHORT.exec(text.trim());
  return m ? { version: m[1]!, major: Number(m[2]), repoid: m[3]!, kernel: m[4]! } : null;
}

/** A package's version in `pveversion -v` (`pve-container: 6.1.10`), or null when it is not listed. */
export function packageVersion(verbose: string, pkg: string): string | null {
  const line = verbose.split("\n").find((l) => l.startsWith(`${pkg}: `));
  return line ? (line.slice(pkg.length + 2).split(" ")[0] ?? null) : null;
}

/** `pveversion` or `pveversion -v`, run once per doctor run. */
export function runPveversion(ctx: DoctorContext, verbose: boolean): Promise<ToolResult> {
  const argv = verbose ? [ctx.tools.pveversion, "-v"] : [ctx.tools.pveversion];
  return ctx.once(argv.join(" "), () => ctx.runTool(argv, ctx.options.timeoutMs));
}
