import { runNodeTool } from "./node-tool.js";

// The simulated `pvesh`'s program (bin/lockstep-sim-pvesh.js): see node-tool.ts.
process.exitCode = runNodeTool("pvesh", process.argv.slice(2), process.env);
