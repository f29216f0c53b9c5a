#!/usr/bin/env node
// The simulated `pvesm` (status only): see packages/sim/README.md.
import "../dist/tools/pvesm-main.js";
