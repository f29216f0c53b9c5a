#!/usr/bin/env node
// The simulated `vzdump`: see packages/sim/README.md.
import "../dist/vzdump/main.js";
