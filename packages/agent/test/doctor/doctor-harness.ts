import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ExecutionContext } from "ava";
import { createMemoryLogger, scratchDir, systemClock } from "@lockstep/shared";
import { layOutSimNode, liveTaskWorkers, simPctBin } from "@lockstep/sim";
import { compileAgentConfig } from "../../src/config/load-config.js";
import type { CheckResult, DoctorCheck } from "../../src/doctor/check.js";
import { openDoctorContext, type WantedStorage } from "../../src/doctor/doctor-context.js";
import type { DoctorReport } from "../../src/doctor/doctor-report.js";
import { runChecks } from "../../src/doctor/run-checks.js";
import { testPki } from "../integration/test-pki.js";

const AGENT_BIN = fileURLToPath(new URL("../../bin/lockstep-agent.js", import.meta.url));

export const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

/**
 * A fresh simulated node `pve1` laid out as its first `pct` lays it out, removed after the
 * test (kept, and named in the log, when the test failed); task workers left behind are ended.
 */
export function simulatedNode(t: ExecutionContext, name = "pve1"): string {
  const root = scratchDir(t, "doctor-node");
  layOutSimNode(root, name, null);
  // Registered after the directory's, so it runs first: no worker writes there as it goes.
  t.teardown(() => {
    for (const { pid } of liveTaskWorkers(root)) process.kill(pid, "SIGKILL");
  });
  return root;
}

/** The environment naming the test CA's certificate for `node`, as the agent's unit names its files. */
export async function tlsEnv(node = "pve1"): Promise<Record<string, string>> {
  const tls = await (await testPki()).node(node);
  return { LOCKSTEP_AGENT_TLS_CA: tls.ca, LOCKSTEP_AGENT_TLS_CERT: tls.cert, LOCKSTEP_AGENT_TLS_KEY: tls.key };
}

/**
 * What one check says of the simulated node at `root`, with the doctor's own context built
 * in-process; `env` adds to the test's environment (an undefined value removes a variable).
 */
export async function checkOn(
  t: ExecutionContext,
  root: string,
  check: DoctorCheck,
  env: Record<string, string | undefined> = {},
  options: { timeoutMs?: number; storages?: WantedStorage[] } = {},
): Promise<CheckResult> {
  const merged = { ...process.env, ...(await tlsEnv(env.LOCKSTEP_AGENT_NODE)), ...env };
  const config = compileAgentConfig({
    configPath: null,
    flags: { simulate: root },
    env: Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined)),
    simPct: simPctBin,
  });
  // Generous unless the test is about the bound: two loaded CPUs start a Node tool slowly.
  const ctx = openDoctorContext(
    config,
    { timeoutMs: options.timeoutMs ?? 60_000, storages: options.storages ?? [{ id: "local-lvm", content: "rootdir" }] },
    systemClock,
    createMemoryLogger(),
  );
  t.teardown(() => ctx.close());
  const [result] = await runChecks([check], ctx);
  t.log(`${result!.id}: ${result!.status}: ${result!.seen}`);
  return result!;
}

/** What the real `lockstep-agent doctor` binary printed and how it exited. */
export interface DoctorRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The --json report, when stdout held one. */
  readonly report: DoctorReport | null;
}

/**
 * Runs `lockstep-agent doctor <args>` (the package's bin, as an admin runs it) with the test
 * CA's certificate, and each check's timeout generous unless `args` name one.
 */
export async function runDoctorBin(args: readonly string[], env: Record<string, string> = {}): Promise<DoctorRun> {
  const fullEnv = { ...process.env, ...(await tlsEnv(env.LOCKSTEP_AGENT_NODE)), ...env };
  const timeout = args.includes("--timeout") ? [] : ["--timeout", "60000"];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [AGENT_BIN, "doctor", ...args, ...timeout], {
      env: fullEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      let report: DoctorReport | null = null;
      try {
        report = JSON.parse(stdout) as DoctorReport;
      } catch {
        // Not --json, or no report: the caller looks at stdout and stderr.
      }
      resolve({ code, stdout, stderr, report });
    });
  });
}
