#!/usr/bin/env node
// The simulated `ha-manager` (add/remove resources): see packages/sim/README.md.
import "../dist/ha/ha-manager.js";
