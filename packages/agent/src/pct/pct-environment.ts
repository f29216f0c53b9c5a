import path from "node:path";

/**
 * The PATH `pct` runs with. pve-common src/PVE/CLIHandler.pm run_cli_handler sets exactly
 * this whatever it inherits, so it is what pct's own tools see on a real node.
 */
const PCT_PATH = "/sbin:/bin:/usr/sbin:/usr/bin";

/**
 * The whole environment of a `pct` call: PATH and what the node needs (the simulator's
 * settings), never the agent's own. The agent's environment names its key files and
 * whatever systemd or an operator gave it; `pct exec` would carry all of it into a guest
 * (pve-container keeps the caller's environment there), and none of it is pct's business.
 */
export function pctEnvironment(nodeEnv: Readonly<Record<string, string>>): Record<string, string> {
  return { PATH: PCT_PATH, ...nodeEnv };
}

const SIMULATOR_KEY = /^LOCKSTEP_SIM_[A-Z0-9_]+$/;

/**
 * What a simulated node's `pct` needs: its root and node name, the simulator's own settings
 * from the agent's environment (LOCKSTEP_SIM_*: lock timeouts, faults), and a PATH that finds
 * the Node.js running the agent (the simulator is a Node script started through its `#!`).
 */
export function simulatorEnvironment(root: string, node: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const settings = Object.entries(env).filter(
    (entry): entry is [string, string] => SIMULATOR_KEY.test(entry[0]) && entry[1] !== undefined,
  );
  return {
    ...Object.fromEntries(settings),
    LOCKSTEP_SIM_ROOT: root,
    LOCKSTEP_SIM_NODE: node,
    PATH: `${path.dirname(process.execPath)}:${PCT_PATH}`,
  };
}
