import anyTest, { type ExecutionContext, type TestFn } from "ava";
import { printReport } from "./fault-injection/print-report.js";
import { PrivateMariaDb } from "./fault-injection/private-mariadb.js";
import { runScenario, type ScenarioReport } from "./fault-injection/run-scenario.js";

/**
 * The short seeded run of the fault-injection suite (the long one: scripts/fault-suite.sh).
 * Real API processes, agents over mTLS on simulated nodes and a MariaDB of its own take a
 * seeded workload while agents and APIs are SIGKILLed, the database restarts, pct hangs or
 * crashes, pushes land late, a node stops answering, an admin or HA migrates containers, pmxcfs
 * hangs, stops or loses quorum, and the host fills with processes. Each test is one invariant of the
 * settled system. LOCKSTEP_FAULT_SEED picks another seed.
 */
const test = anyTest as TestFn<{ report: ScenarioReport }>;
const SEED = Number(process.env.LOCKSTEP_FAULT_SEED ?? 1);
const SIZES = { requests: 24, faults: 8, phaseMs: 20_000, nodes: 3, apiProcesses: 2 };

test.before(async (t) => {
  t.timeout(10 * 60_000);
  const server = await PrivateMariaDb.start();
  try {
    const lines: string[] = [];
    const report = await runScenario(server, { seed: SEED, ...SIZES, log: (line) => lines.push(line) });
    printReport(report, (line) => lines.push(line));
    console.log([`fault injection, seed ${SEED}:`, ...lines].join("\n"));
    if (!report.passed) console.log(`repeat: scripts/fault-suite.sh --seed ${SEED} --requests ${SIZES.requests} --faults ${SIZES.faults} --phase-s ${SIZES.phaseMs / 1000}`);
    t.context = { report };
  } finally {
    await server.destroy();
  }
});

function holds(name: string) {
  return (t: ExecutionContext<{ report: ScenarioReport }>) => {
    const result = t.context.report.results.find((r) => r.name === name);
    if (!result) throw new Error(`no invariant named '${name}'`);
    t.log(result.figures);
    t.deepEqual(result.violations, [], `seed ${SEED}: ${name}`);
  };
}

test("after the faults every live record has exactly one container on its node and no container lacks a record", holds("records = containers on nodes"));
test("after the faults every VMID and port is held once and none is leaked", holds("every VMID and port unique"));
test("after the faults every job has finished, and the nodes' pct logs show each create, destroy and snapshot once", holds("every job finished exactly once"));
test("after the faults every accepted request has its record, and every replay got the first answer", holds("every accepted request has its record"));
test("after the faults every incident is explained by a fault that was injected", holds("no incident left unexplained"));
test("after the faults no alert stays open for a node that recovered", holds("no alert open for a recovered node"));
test("after the faults no drift and no stale lock is left", holds("no drift and no stale lock left"));
test("no agent or API process dies of a fault it did not receive", holds("no process died on its own"));
test("the agent never clears a backup's, a mount's or someone else's lock", holds("no lock cleared that Lockstep did not prove stale"));
test("no foreign container or VM is ever changed, and no record takes a VM's VMID", holds("no foreign guest ever changed"));
test("no container of Lockstep's is destroyed or made again because Proxmox moved it", holds("no container destroyed or re-created because it moved"));
test("no record is deleted or failed while its container lives, and a live record names its container's node", holds("no record given up while its container lived"));
