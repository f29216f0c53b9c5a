#!/usr/bin/env node
// The simulated `chronyc` (tracking only), the node's time daemon: see packages/sim/README.md.
import "../dist/tools/chronyc-main.js";
