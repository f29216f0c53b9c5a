// The real `lockstep-agent doctor` binary against simulated nodes: its --json report, its
// table, its exit statuses, and --cycle.
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { startedCalls, writeFaults } from "@lockstep/sim";
import { runDoctorBin, simulatedNode, TEMPLATE } from "./doctor-harness.js";

const CHECK_IDS = [
  "pct",
  "pvesh",
  "pve-version",
  "pve-mounted",
  "pve-fuse",
  "pve-quorum",
  "node",
  "lock-dir",
  "proc-locks",
  "active-tasks",
  "container-configs",
  "storages",
  "state-dir",
  "certificates",
  "executor",
  "node-policy",
  "clock",
];

// One at a time: each test starts the simulator's tools, and two CPUs share them with the suite.
test.serial("doctor --simulate --json passes every check on a fresh simulated node and exits 0", async (t) => {
  const root = simulatedNode(t);
  const run = await runDoctorBin(["--simulate", root, "--json"]);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(
    run.report?.checks.map((c) => c.id),
    CHECK_IDS,
  );
  t.deepEqual(
    run.report?.checks.filter((c) => c.status !== "pass").map((c) => `${c.id}: ${c.seen}`),
    [],
  );
  t.like(run.report, {
    node: "pve1",
    simulate: root,
    cycle: null,
    summary: { pass: CHECK_IDS.length, warn: 0, fail: 0 },
    ok: true,
  });
});

test.serial(
  "doctor --cycle takes a throwaway container through every step, timed, and leaves nothing behind",
  async (t) => {
    t.timeout(300_000); // a create, five steps and a destroy through the simulator
    const root = simulatedNode(t);
    const run = await runDoctorBin(["--simulate", root, "--json", "--cycle", TEMPLATE]);
    t.is(run.code, 0, run.stdout + run.stderr);
    const cycle = run.report!.cycle!;
    t.deepEqual(
      cycle.steps.map((s) => [s.step, s.status]),
      ["free VMID", "create", "push", "exec", "snapshot", "prune", "destroy"].map((step) => [step, "pass"]),
    );
    t.true(cycle.steps.every((s) => Number.isInteger(s.durationMs) && s.durationMs >= 0));
    t.like(cycle, { vmid: 999_000_000, ownershipTag: "lockstep-doctor" });
    // Through pct as the agent drives it, on that VMID only.
    for (const command of ["create", "push", "exec", "snapshot", "delsnapshot", "destroy"])
      t.true(
        startedCalls(root, command).some((c) => c.vmid === 999_000_000),
        `pct ${command}`,
      );
    t.true(startedCalls(root, "create").every((c) => c.vmid === 999_000_000));
    t.false(existsSync(path.join(root, "etc/pve/lxc/999000000.conf")));
  },
);

test.serial("a cycle step that fails still destroys the container, and the doctor exits 1", async (t) => {
  t.timeout(300_000); // a create, five steps and a destroy through the simulator
  const root = simulatedNode(t);
  writeFaults(root, [{ command: "snapshot", action: "fail", message: "snapshot feature is not available" }]);
  const run = await runDoctorBin(["--simulate", root, "--json", "--cycle", TEMPLATE]);
  t.is(run.code, 1);
  t.deepEqual(
    run.report!.cycle!.steps.map((s) => [s.step, s.status]),
    [
      ["free VMID", "pass"],
      ["create", "pass"],
      ["push", "pass"],
      ["exec", "pass"],
      ["snapshot", "fail"],
      ["prune", "skipped"],
      ["destroy", "pass"],
    ],
  );
  t.regex(run.report!.cycle!.steps[4]!.seen, /snapshot feature is not available/);
  t.false(existsSync(path.join(root, "etc/pve/lxc/999000000.conf")));
});

test.serial("a failed check is a 'fail' row of the table, and the doctor exits 1", async (t) => {
  const root = simulatedNode(t);
  writeFileSync(
    path.join(root, "etc/pve/storage.cfg"),
    "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n",
  );
  const run = await runDoctorBin(["--simulate", root]);
  t.is(run.code, 1);
  t.regex(run.stdout, /^configured storages present +fail +\d+ m?s +storage 'local-lvm' is not in storage\.cfg$/m);
  t.regex(run.stdout, /^17 checks: 16 pass, 0 warn, 1 fail$/m);
});

test.serial("--cycle does not run on a node where a check failed", async (t) => {
  const root = simulatedNode(t);
  writeFileSync(
    path.join(root, "etc/pve/storage.cfg"),
    "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n",
  );
  const run = await runDoctorBin(["--simulate", root, "--json", "--cycle", TEMPLATE]);
  t.is(run.code, 1);
  t.deepEqual(
    run.report!.cycle!.steps.map((s) => [s.step, s.status]),
    [["cycle", "skipped"]],
  );
  t.deepEqual(startedCalls(root, "create"), []);
});

test.serial("a bad command line exits 2 with one line naming the problem", async (t) => {
  const run = await runDoctorBin(["--simulate", simulatedNode(t), "--timeout", "soon"]);
  t.is(run.code, 2);
  t.is(
    run.stderr,
    'lockstep-agent doctor: --timeout must be a whole number from 100 to 600000, got "soon" (see lockstep-agent doctor --help)\n',
  );
  t.is(run.stdout, "");
});

test.serial("a configuration that cannot be read exits 2", async (t) => {
  const run = await runDoctorBin(["--simulate", simulatedNode(t), "--config", "/nonexistent/agent.json"]);
  t.is(run.code, 2);
  t.regex(
    run.stderr,
    /^lockstep-agent doctor: configuration: config file: cannot read \/nonexistent\/agent\.json: ENOENT/,
  );
});

test.serial("doctor --help says what it checks, what it writes and its exit statuses", async (t) => {
  const run = await runDoctorBin(["--help"]);
  t.is(run.code, 0);
  t.regex(run.stdout, /^usage: lockstep-agent doctor /);
  t.regex(run.stdout, /Read-only, but for one write: in the agent's state directory/);
  t.regex(
    run.stdout,
    /Exit status: 0 when nothing failed \(warnings allowed\),\n1 when a check or a cycle step failed, 2 for a usage or configuration error\./,
  );
});
