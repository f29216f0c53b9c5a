#!/usr/bin/env node
// The simulated `pvesh` (get /version only): see packages/sim/README.md.
import { runNodeTool } from "../dist/tools/tool-main.js";

process.exitCode = runNodeTool("pvesh", process.argv.slice(2), process.env);
