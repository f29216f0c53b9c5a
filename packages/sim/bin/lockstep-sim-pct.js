#!/usr/bin/env node
// The simulated `pct`: see packages/sim/README.md.
import "../dist/main.js";
