#!/usr/bin/env node
// The simulated `qm` (VM configs only): see packages/sim/README.md.
import "../dist/qm/main.js";
