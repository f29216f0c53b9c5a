import { execFile } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { scratchDir, type TestScope } from "@lockstep/shared";

/** One of the agent's unit files as the package installs it (packages/agent/systemd/). */
export interface UnitFile {
  readonly name: string;
  readonly text: string;
  /** Its comment lines, joined. */
  readonly comments: string;
  /** Every value of `key=` in the active (uncommented) lines. */
  values(key: string): string[];
}

export function unitFile(name: string): UnitFile {
  const text = readFileSync(fileURLToPath(new URL(`../../systemd/${name}`, import.meta.url)), "utf8");
  const lines = text.split("\n");
  return {
    name,
    text,
    comments: lines.filter((line) => line.startsWith("#")).join("\n"),
    values: (key) => lines.filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1)),
  };
}

/**
 * The unit in a scratch directory, its ExecStart's program replaced by an executable stand-in:
 * systemd-analyze wants the program on this machine, and the package installs it (test/packages).
 */
function withStandIn(t: TestScope, unit: UnitFile): string {
  const dir = scratchDir(t, "lockstep-unit");
  writeFileSync(path.join(dir, "lockstep-agent"), "#!/bin/sh\n");
  chmodSync(path.join(dir, "lockstep-agent"), 0o755);
  writeFileSync(
    path.join(dir, unit.name),
    unit.text.replace("ExecStart=/usr/bin/lockstep-agent", `ExecStart=${dir}/lockstep-agent`),
  );
  return path.join(dir, unit.name);
}

/** What `systemd-analyze verify` says of the unit: nothing when it is sound. */
export async function verifyUnit(t: TestScope, unit: UnitFile): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)("systemd-analyze", ["verify", withStandIn(t, unit)]);
  return `${stdout}${stderr}`.trim();
}

/** `systemd-analyze security`'s overall exposure of the unit (0 best, 10 worst), and its whole report. */
export async function exposureOf(t: TestScope, unit: UnitFile): Promise<{ exposure: number; report: string }> {
  const { stdout } = await promisify(execFile)("systemd-analyze", [
    "security",
    "--offline=true",
    "--threshold=100",
    withStandIn(t, unit),
  ]);
  const exposure = /Overall exposure level for \S+: (\d+\.\d+)/.exec(stdout)?.[1];
  return { exposure: exposure === undefined ? Number.NaN : Number(exposure), report: stdout };
}
