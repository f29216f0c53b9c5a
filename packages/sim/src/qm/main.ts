import { PctError } from "../node/pct-error.js";
import { openSimNode } from "../node/sim-node.js";
import { requireCliEnvironment } from "../pmxcfs/pmxcfs-ipc.js";
import { qm } from "./qm-command.js";

// The simulated `qm` (qemu-server), run in-process like pct's non-task commands.
try {
  const node = openSimNode(process.env);
  requireCliEnvironment(node.layout); // qemu-server PVE/CLI/qm.pm setup_environment, as pct's
  process.stdout.write(qm(node, process.argv.slice(2)));
} catch (err) {
  if (!(err instanceof PctError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exitCode = err.exitCode;
}
