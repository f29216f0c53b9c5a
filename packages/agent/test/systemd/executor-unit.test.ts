import test from "ava";
import { unitFile, verifyUnit } from "./unit-file.js";

// The root executor's unit: it runs pct, so it keeps what pct needs (see its comments).
const unit = unitFile("lockstep-agent-executor.service");
const { comments } = unit;
const values = (key: string) => unit.values(key);

// Options that would break pct (or Node), grouped by what they break.
const MOUNT_NAMESPACE = [
  "ProtectSystem",
  "ProtectHome",
  "PrivateTmp",
  "ReadWritePaths",
  "PrivateMounts",
  "ProtectProc",
  "ProcSubset",
  "PrivateDevices",
  "ProtectControlGroups",
  "ProtectKernelTunables",
  "ProtectKernelModules",
  "ProtectKernelLogs",
];
const INHERITED_SECCOMP = [
  "SystemCallFilter",
  "SystemCallArchitectures",
  "LockPersonality",
  "RestrictAddressFamilies",
  "RestrictNamespaces",
  "RestrictSUIDSGID",
  "ProtectHostname",
  "ProtectClock",
  "MemoryDenyWriteExecute",
];
const LESS_THAN_ROOT = ["NoNewPrivileges", "PrivateUsers", "DynamicUser", "User", "CapabilityBoundingSet"];
const CGROUP_FILTERS = ["DevicePolicy", "DeviceAllow", "IPAddressDeny", "IPAddressAllow"];
const SHARED_IPC = ["PrivateIPC", "RemoveIPC"];

test("systemd-analyze verify accepts the executor's unit", async (t) => {
  t.is(await verifyUnit(t, unit), "");
});

test("the unit runs the packaged agent's executor with the packaged config, on the socket the network side calls", (t) => {
  t.deepEqual(values("ExecStart"), ["/usr/bin/lockstep-agent executor --config /etc/lockstep/agent.json"]);
  t.true(values("Environment").includes("LOCKSTEP_AGENT_EXECUTOR_SOCKET=/run/lockstep-executor/executor.sock"));
  t.deepEqual(values("RuntimeDirectory"), ["lockstep-executor"]);
});

test("the executor starts on the same condition as the network side: the node's certificates in place", (t) => {
  t.deepEqual(values("ConditionPathExists"), [
    "/etc/lockstep/tls/ca.crt",
    "/etc/lockstep/tls/node.crt",
    "/etc/lockstep/tls/node.key",
  ]);
});

test("the unit creates no mount namespace, so the mounts pct makes reach the host", (t) => {
  for (const option of MOUNT_NAMESPACE) t.deepEqual(values(option), [], `${option} is not set`);
});

test("the unit installs no seccomp filter that would break commands pct exec runs in guests", (t) => {
  for (const option of INHERITED_SECCOMP) t.deepEqual(values(option), [], `${option} is not set`);
  t.deepEqual(values("RestrictRealtime"), ["yes"], "the one filter kept: realtime scheduling is refused");
});

test("the executor keeps the real root and every capability pct needs", (t) => {
  for (const option of LESS_THAN_ROOT) t.deepEqual(values(option), [], `${option} is not set`);
});

test("the unit puts no device or IP filter on the cgroup pct runs in, and leaves IPC shared", (t) => {
  for (const option of [...CGROUP_FILTERS, ...SHARED_IPC]) t.deepEqual(values(option), [], `${option} is not set`);
});

test("every option left out is explained in the unit's comments", (t) => {
  for (const option of [
    ...MOUNT_NAMESPACE,
    ...INHERITED_SECCOMP,
    ...LESS_THAN_ROOT,
    ...CGROUP_FILTERS,
    ...SHARED_IPC,
  ]) {
    t.true(comments.includes(`${option}=`), `${option} is explained`);
  }
});

test("systemd signals the executor alone and never kills pct or a task worker, leaving the executor time to stop its pct calls", (t) => {
  t.deepEqual(values("KillMode"), ["process"]);
  // shutdownDrainMs (30 s) + pct's SIGTERM grace (7 s) + closing the server (2 s).
  t.true(Number(values("TimeoutStopSec")[0]) > 30 + 7 + 2);
});

test("the executor is handed no TLS key: it serves no network", (t) => {
  t.deepEqual(values("LoadCredential"), []);
  t.false(values("Environment").some((env) => env.startsWith("LOCKSTEP_AGENT_TLS_")));
});

test("a crash never writes the executor's memory to a core file", (t) => {
  t.deepEqual(values("LimitCORE"), ["0"]);
});

test("the executor's session keyring is its own", (t) => {
  t.deepEqual(values("KeyringMode"), ["private"]);
});

test("the umask stays 0022, because pct exec carries it into guests", (t) => {
  t.deepEqual(values("UMask"), ["0022"]);
});

test("the executor's state directory is its own and readable by root only", (t) => {
  t.deepEqual(values("StateDirectory"), ["lockstep-executor"]);
  t.deepEqual(values("StateDirectoryMode"), ["0700"]);
  t.true(values("Environment").includes("LOCKSTEP_AGENT_STATE_DIR=/var/lib/lockstep-executor"));
});
