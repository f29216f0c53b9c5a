// Benchmark: InspectLock latency (gRPC over mTLS to a real agent on a simulated node) against
// running `fuser` (psmisc) on the same lock file, with the lock held by util-linux flock and
// with it free; one call at a time, the two interleaved.
// Run: pnpm exec tsx bench/inspect-lock.ts   (BENCH_SAMPLES)
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { agentV1, SuiteScope } from "@lockstep/shared";
import { agentOnSim, TEMPLATE, untilLocked } from "../packages/agent/test/integration/agent-harness.js";
import { sizeFromEnv } from "./support/bench-env.js";
import { fuser } from "./support/fuser.js";
import { describe, ratio, summarize, type Summary } from "./support/stats.js";
import { msSince } from "./support/timing.js";

/** What the run starts: its nodes are removed when it ends. */
const bench = new SuiteScope();

const SAMPLES = sizeFromEnv("BENCH_SAMPLES", 1000);
const WARMUP = Math.min(100, Math.max(20, Math.floor(SAMPLES / 10)));
const VMID = 101;

async function main(): Promise<void> {
  if (spawnSync("sh", ["-c", "command -v fuser"]).status !== 0) {
    console.error(
      "fuser is not installed (Debian package psmisc: apt-get install -y psmisc): the baseline cannot be measured, so this benchmark does not run.",
    );
    process.exitCode = 1;
    return;
  }
  const agent = await agentOnSim(bench);
  let holder: ReturnType<typeof spawn> | undefined;
  try {
    const created = await agent.pct([
      "create",
      String(VMID),
      TEMPLATE,
      "--hostname",
      "bench",
      "--storage",
      "local-lvm",
    ]);
    if (created.code !== 0) throw new Error(created.stderr);
    const lockFile = path.join(agent.root, "run/lock/lxc", `pve-config-${VMID}.lock`);

    const round = async (
      state: "held" | "free",
      expectPid: number | null,
    ): Promise<{ inspect: Summary; fuser: Summary }> => {
      const inspect = async (): Promise<number> => {
        const start = process.hrtime.bigint();
        const report = await agent.client.inspectLock({ vmid: VMID });
        const took = msSince(start);
        const expected =
          expectPid === null
            ? report.verdict === agentV1.LockVerdict.FREE
            : report.verdict === agentV1.LockVerdict.HELD && report.holders.some((h) => h.pid === expectPid);
        if (!expected) throw new Error(`InspectLock saw ${JSON.stringify(report)}`);
        return took;
      };
      const baseline = async (): Promise<number> => {
        const start = process.hrtime.bigint();
        const out = await fuser(lockFile);
        const took = msSince(start);
        if (expectPid === null ? out.code !== 1 : !out.pids.includes(expectPid))
          throw new Error(`fuser saw ${JSON.stringify(out)}`);
        return took;
      };
      for (let i = 0; i < WARMUP; i++) {
        await inspect();
        await baseline();
      }
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        if (i % 2 === 0) {
          a.push(await inspect());
          b.push(await baseline());
        } else {
          b.push(await baseline());
          a.push(await inspect());
        }
      }
      console.log(`lock ${state}: ${SAMPLES} samples of each after ${WARMUP} warm-up`);
      return { inspect: summarize(a), fuser: summarize(b) };
    };

    // The holder is util-linux flock running sleep: the lock belongs to flock's open file, which sleep shares.
    holder = spawn("flock", [lockFile, "sleep", "3600"], { detached: true, stdio: "ignore" });
    await untilLocked(lockFile);
    const held = await round("held", holder.pid!);
    process.kill(-holder.pid!, "SIGKILL");
    await new Promise((r) => holder!.once("exit", r));
    holder = undefined;
    const free = await round("free", null);

    const procs = spawnSync("sh", ["-c", "ls -d /proc/[0-9]* | wc -l"]).stdout.toString().trim();
    console.log(`\nInspectLock vs fuser on the same lock file (${procs} processes on the machine; both scan /proc):`);
    for (const [state, r] of [
      ["held", held],
      ["free", free],
    ] as const) {
      console.log(`  lock ${state}:`);
      console.log(`    InspectLock (gRPC, mTLS):  ${describe(r.inspect)}`);
      console.log(`    baseline, fuser <file>:    ${describe(r.fuser)}`);
      console.log(
        `    ratio InspectLock / fuser: p50 ${ratio(r.inspect.p50, r.fuser.p50)}, p99 ${ratio(r.inspect.p99, r.fuser.p99)}`,
      );
    }
  } finally {
    if (holder?.pid) process.kill(-holder.pid, "SIGKILL");
    await agent.stop();
    await bench.close();
  }
}

await main();
