// The package and import boundaries, checked by `pnpm lint` (dependency-cruiser): no import
// cycle, no import into another package's src/ (a package is used by its name and its
// exports), and the layers of docs/architecture.md: the simulator stands in for Proxmox and
// imports no Lockstep package; shared imports none either; agent and API never each other.
module.exports = {
  forbidden: [
    { name: "no-cycle", severity: "error", comment: "Imports run one way.", from: {}, to: { circular: true } },
    {
      name: "no-deep-import",
      severity: "error",
      comment: "Another package's src/ is its own: import the package by its name.",
      from: { path: "^packages/([^/]+)/" },
      to: { path: "^packages/([^/]+)/src/", pathNot: "^packages/$1/src/" },
    },
    {
      name: "sim-stands-alone",
      severity: "error",
      from: { path: "^packages/sim/src/" },
      to: { path: "^packages/(shared|agent|api)/" },
    },
    {
      name: "shared-stands-alone",
      severity: "error",
      from: { path: "^packages/shared/src/" },
      to: { path: "^packages/(sim|agent|api)/" },
    },
    {
      name: "agent-not-api",
      severity: "error",
      from: { path: "^packages/agent/src/" },
      to: { path: "^packages/api/" },
    },
    {
      name: "api-not-agent",
      severity: "error",
      from: { path: "^packages/api/src/" },
      to: { path: "^packages/(agent|sim)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(dist|node_modules)/|^packages/shared/src/gen/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.base.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".json"],
    },
  },
};
