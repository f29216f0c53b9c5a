// The fault-injection suite from the command line: scripts/fault-suite.sh [options]
//   --seed N          run one seed (default: a fresh one, printed)
//   --seeds K         run K seeds in a row, from --seed (default 1)
//   --requests N      requests per seed (default 120)
//   --faults N        faults per seed (default 30)
//   --phase-s S       seconds of workload under faults (default 90)
import { parseArgs } from "node:util";
import { onInterrupt, stopEverythingOnInterrupt } from "./interrupt.js";
import { PrivateMariaDb } from "./private-mariadb.js";
import { printReport } from "./print-report.js";
import { runScenario } from "./run-scenario.js";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    seeds: { type: "string", default: "1" },
    requests: { type: "string", default: "120" },
    faults: { type: "string", default: "30" },
    "phase-s": { type: "string", default: "90" },
  },
});

function positive(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${text}'`);
  return n;
}

const seeds = positive("seeds", values.seeds);
const first = values.seed === undefined ? (values.seeds === "1" ? Math.floor(Math.random() * 1e6) + 1 : 1) : positive("seed", values.seed);
const sizes = { requests: positive("requests", values.requests), faults: positive("faults", values.faults), phaseMs: positive("phase-s", values["phase-s"]) * 1000, nodes: 3, apiProcesses: 2 };

stopEverythingOnInterrupt();

const server = await PrivateMariaDb.start();
onInterrupt(() => server.destroy());
const failed: number[] = [];
try {
  for (let seed = first; seed < first + seeds; seed++) {
    console.log(`seed ${seed}: ${sizes.requests} requests, ${sizes.faults} faults over ${sizes.phaseMs / 1000} s, ${sizes.nodes} nodes, ${sizes.apiProcesses} API processes`);
    const report = await runScenario(server, { seed, ...sizes, log: (line) => console.log(line) });
    printReport(report, (line) => console.log(line));
    if (!report.passed) failed.push(seed);
  }
} finally {
  await server.destroy();
}
console.log(`\n${seeds - failed.length} of ${seeds} seed(s) passed${failed.length ? `; failing seed(s): ${failed.join(", ")}` : ""}`);
for (const seed of failed) console.log(`repeat: scripts/fault-suite.sh --seed ${seed} --requests ${sizes.requests} --faults ${sizes.faults} --phase-s ${sizes.phaseMs / 1000}`);
process.exitCode = failed.length ? 1 : 0;
