import { runNodeTool } from "./node-tool.js";

// The simulated `chronyc`'s program (bin/lockstep-sim-chronyc.js): see node-tool.ts.
process.exitCode = runNodeTool("chronyc", process.argv.slice(2), process.env);
