#!/usr/bin/env node
// The simulated `chronyc` (tracking only), the node's time daemon: see packages/sim/README.md.
import { runNodeTool } from "../dist/tools/tool-main.js";

process.exitCode = runNodeTool("chronyc", process.argv.slice(2), process.env);
