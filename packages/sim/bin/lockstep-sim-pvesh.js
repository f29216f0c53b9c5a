#!/usr/bin/env node
// The simulated `pvesh` (get /version only): see packages/sim/README.md.
import "../dist/tools/pvesh-main.js";
