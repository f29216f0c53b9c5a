import { runNodeTool } from "./node-tool.js";

// The simulated `pvesm`'s program (bin/lockstep-sim-pvesm.js): see node-tool.ts.
process.exitCode = runNodeTool("pvesm", process.argv.slice(2), process.env);
