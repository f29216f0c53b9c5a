import { PctError } from "../node/pct-error.js";
import { openSimNode } from "../node/sim-node.js";
import { qm } from "./qm-command.js";

// The simulated `qm` (qemu-server), run in-process like pct's non-task commands.
try {
  process.stdout.write(qm(openSimNode(process.env), process.argv.slice(2)));
} catch (err) {
  if (!(err instanceof PctError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exitCode = err.exitCode;
}
