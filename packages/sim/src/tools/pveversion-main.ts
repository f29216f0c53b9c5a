import { runNodeTool } from "./node-tool.js";

// The simulated `pveversion`'s program (bin/lockstep-sim-pveversion.js): see node-tool.ts.
process.exitCode = runNodeTool("pveversion", process.argv.slice(2), process.env);
