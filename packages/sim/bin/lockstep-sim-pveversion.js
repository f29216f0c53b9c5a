#!/usr/bin/env node
// The simulated `pveversion` (the node's PVE and package versions): see packages/sim/README.md.
import { runNodeTool } from "../dist/tools/tool-main.js";

process.exitCode = runNodeTool("pveversion", process.argv.slice(2), process.env);
