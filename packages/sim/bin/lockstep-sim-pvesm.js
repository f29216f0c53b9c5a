#!/usr/bin/env node
// The simulated `pvesm` (status only): see packages/sim/README.md.
import { runNodeTool } from "../dist/tools/tool-main.js";

process.exitCode = runNodeTool("pvesm", process.argv.slice(2), process.env);
