#!/usr/bin/env node
// Controls a node's simulated pmxcfs (mount|unmount|pause|resume|stop|start|no-quorum|quorum):
// see packages/sim/README.md.
import "../dist/pmxcfs/pmxcfs-cli.js";
