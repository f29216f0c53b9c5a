import { controlPmxcfs, PMXCFS_ACTIONS, type PmxcfsAction } from "./pmxcfs-controller.js";
import { PmxcfsError } from "./pmxcfs-error.js";

/** Exit status when the machine has no FUSE: the node stays on plain directories. */
const NO_FUSE_EXIT = 3;

/** `lockstep-sim-pmxcfs <action>`: see packages/sim/README.md. */
async function pmxcfsCli(argv: string[]): Promise<number> {
  const action = argv[0];
  if (!action || !(PMXCFS_ACTIONS as readonly string[]).includes(action) || argv.length > 1) {
    process.stderr.write(`USAGE: lockstep-sim-pmxcfs ${PMXCFS_ACTIONS.join("|")}\n`);
    return 2;
  }
  try {
    process.stdout.write(`${await controlPmxcfs(action as PmxcfsAction, process.env)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof PmxcfsError)) throw err;
    process.stderr.write(`lockstep-sim-pmxcfs: ${err.message}\n`);
    return err.code === "NO_FUSE" ? NO_FUSE_EXIT : 1;
  }
}

process.exitCode = await pmxcfsCli(process.argv.slice(2));
