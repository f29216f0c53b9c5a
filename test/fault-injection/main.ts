// The fault-injection suite from the command line: scripts/fault-suite.sh [options]
//   --seed N          run one seed (default: a fresh one, printed)
//   --seeds K         run K seeds in a row, from --seed (default 1)
//   --requests N      requests per seed (default 120)
//   --faults N        faults per seed (default 30)
//   --phase-s S       seconds of workload under faults (default 90)
//   --db single|galera   one MariaDB server on loopback (default), or a 3-node Galera cluster
//                     behind HAProxy with every process in a network namespace of its own
import { parseArgs } from "node:util";
import { onInterrupt, stopEverythingOnInterrupt } from "./interrupt.js";
import { GaleraPlatform } from "./galera-platform.js";
import { PrivateMariaDb } from "./private-mariadb.js";
import { printReport } from "./print-report.js";
import { runScenario } from "./run-scenario.js";
import type { ScenarioDatabase } from "./scenario-database.js";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    seeds: { type: "string", default: "1" },
    requests: { type: "string", default: "120" },
    faults: { type: "string", default: "30" },
    "phase-s": { type: "string", default: "90" },
    db: { type: "string", default: "single" },
  },
});

function positive(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${text}'`);
  return n;
}

const seeds = positive("seeds", values.seeds);
const first =
  values.seed === undefined
    ? values.seeds === "1"
      ? Math.floor(Math.random() * 1e6) + 1
      : 1
    : positive("seed", values.seed);
const sizes = {
  requests: positive("requests", values.requests),
  faults: positive("faults", values.faults),
  phaseMs: positive("phase-s", values["phase-s"]) * 1000,
  nodes: 3,
  apiProcesses: 2,
};

if (values.db !== "single" && values.db !== "galera")
  throw new Error(`--db must be single or galera, got '${values.db}'`);
const nodes = Array.from({ length: sizes.nodes }, (_, i) => `pve${i + 1}`);

stopEverythingOnInterrupt();

/** The scenario's database for every seed; `destroy` keeps a Galera cluster's directory when a seed failed. */
async function startDatabase(): Promise<{ database: ScenarioDatabase; destroy(keep: boolean): Promise<void> }> {
  if (values.db === "galera") {
    console.log("starting a 3-node Galera cluster behind HAProxy, every process in a network namespace of its own");
    const platform = await GaleraPlatform.start(nodes, sizes.apiProcesses, (line) => console.log(`  network: ${line}`));
    return { database: { kind: "galera", platform }, destroy: (keep) => platform.destroy(keep) };
  }
  const server = await PrivateMariaDb.start();
  return { database: { kind: "single", server }, destroy: () => server.destroy() };
}

const { database, destroy } = await startDatabase();
onInterrupt(() => destroy(false));
const failed: number[] = [];
try {
  for (let seed = first; seed < first + seeds; seed++) {
    console.log(
      `seed ${seed}: ${sizes.requests} requests, ${sizes.faults} faults over ${sizes.phaseMs / 1000} s, ${sizes.nodes} nodes, ${sizes.apiProcesses} API processes, ${values.db === "galera" ? "Galera" : "one MariaDB server"}`,
    );
    const report = await runScenario(database, { seed, ...sizes, log: (line) => console.log(line) });
    printReport(report, (line) => console.log(line));
    if (!report.passed) failed.push(seed);
  }
} finally {
  await destroy(failed.length > 0);
}
console.log(
  `\n${seeds - failed.length} of ${seeds} seed(s) passed${failed.length ? `; failing seed(s): ${failed.join(", ")}` : ""}`,
);
for (const seed of failed)
  console.log(
    `repeat: scripts/fault-suite.sh --seed ${seed} --requests ${sizes.requests} --faults ${sizes.faults} --phase-s ${sizes.phaseMs / 1000} --db ${values.db}`,
  );
process.exitCode = failed.length ? 1 : 0;
