import type { Placement } from "../support/cluster.js";
import type { GaleraPlatform } from "./galera-platform.js";
import type { PrivateMariaDb } from "./private-mariadb.js";
import type { FaultKind } from "./scenario-plan.js";

/**
 * What a scenario runs on: one MariaDB server with every process on this machine's loopback,
 * or a Galera cluster behind its proxy with every process in a network namespace of its own.
 */
export type ScenarioDatabase =
  | { readonly kind: "single"; readonly server: PrivateMariaDb }
  | { readonly kind: "galera"; readonly platform: GaleraPlatform };

/** The faults of the database and the network that each kind of scenario can inject. */
export const DATABASE_FAULTS: Readonly<Record<ScenarioDatabase["kind"], readonly FaultKind[]>> = {
  single: ["restart-mariadb"],
  galera: ["kill-db-writer", "partition-db-node", "cut-api-db", "cut-agent-api"],
};

/** The server URL of the scenario's database (each seed makes a database of its own on it). */
export function serverUrlOf(database: ScenarioDatabase): string {
  return database.kind === "single" ? database.server.url : database.platform.url;
}

/** Where API process `i` runs: loopback (undefined), or its own host of the network. */
export function apiPlacement(database: ScenarioDatabase, i: number): Placement | undefined {
  return database.kind === "galera" ? database.platform.api(i) : undefined;
}

/** Where a node's agent runs: loopback (undefined), or its own host of the network. */
export function agentPlacement(database: ScenarioDatabase, node: string): Placement | undefined {
  return database.kind === "galera" ? database.platform.agent(node) : undefined;
}
