#!/usr/bin/env node
// The simulated `pveversion` (the node's PVE and package versions): see packages/sim/README.md.
import "../dist/tools/pveversion-main.js";
