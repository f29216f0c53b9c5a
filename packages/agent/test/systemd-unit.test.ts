import { execFile } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";
import { scratchDir } from "@lockstep/shared";

const unit = fileURLToPath(new URL("../systemd/lockstep-agent.service", import.meta.url));
const text = readFileSync(unit, "utf8");
const lines = text.split("\n");
const comments = lines.filter((line) => line.startsWith("#")).join("\n");

/** Every value of `key=` in the active (uncommented) lines. */
function values(key: string): string[] {
  return lines.filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1));
}

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

test("systemd-analyze verify accepts the agent's unit", async (t) => {
  // verify also wants ExecStart's program on this machine; the package installs it
  // (test/packages checks that), so an executable stands in for /usr/bin/lockstep-agent here.
  const dir = scratchDir(t, "lockstep-unit");
  writeFileSync(path.join(dir, "lockstep-agent"), "#!/bin/sh\n");
  chmodSync(path.join(dir, "lockstep-agent"), 0o755);
  writeFileSync(
    path.join(dir, "lockstep-agent.service"),
    text.replace("ExecStart=/usr/bin/lockstep-agent ", `ExecStart=${dir}/lockstep-agent `),
  );
  const { stdout, stderr } = await promisify(execFile)("systemd-analyze", [
    "verify",
    path.join(dir, "lockstep-agent.service"),
  ]);
  t.is(`${stdout}${stderr}`.trim(), "");
});

test("the unit runs the packaged agent with the packaged config", (t) => {
  t.deepEqual(values("ExecStart"), ["/usr/bin/lockstep-agent --config /etc/lockstep/agent.json"]);
});

test("the unit starts only once the node's certificates are in place", (t) => {
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

test("the agent keeps the real root and every capability pct needs", (t) => {
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

test("systemd signals the agent alone and never kills pct or a task worker, leaving the agent time to stop its pct calls", (t) => {
  t.deepEqual(values("KillMode"), ["process"]);
  // shutdownDrainMs (30 s) + pct's SIGTERM grace (7 s) + closing the server (2 s).
  t.true(Number(values("TimeoutStopSec")[0]) > 30 + 7 + 2);
});

test("the node's TLS key reaches the agent as a systemd credential, not as a path to a readable file", (t) => {
  t.deepEqual(values("LoadCredential"), ["node.key:/etc/lockstep/tls/node.key"]);
  t.deepEqual(
    values("Environment").filter((env) => env.startsWith("LOCKSTEP_AGENT_TLS_KEY=")),
    ["LOCKSTEP_AGENT_TLS_KEY=%d/node.key"],
  );
  // systemd alone reads what LoadCredential= and ConditionPathExists= name.
  const active = lines.filter(
    (line) => !line.startsWith("#") && !line.startsWith("LoadCredential=") && !line.startsWith("ConditionPathExists="),
  );
  t.false(
    active.some((line) => line.includes("/etc/lockstep/tls/node.key")),
    "the key's own path is only read by systemd",
  );
  t.false(
    values("ExecStart").some((cmd) => /--tls|\.key\b/.test(cmd)),
    "no key on the command line",
  );
});

test("a crash never writes the agent's memory, which holds the TLS key, to a core file", (t) => {
  t.deepEqual(values("LimitCORE"), ["0"]);
});

test("the agent's session keyring is its own", (t) => {
  t.deepEqual(values("KeyringMode"), ["private"]);
});

test("the umask stays 0022, because pct exec carries it into guests", (t) => {
  t.deepEqual(values("UMask"), ["0022"]);
});

test("the agent's state directory is readable by root only", (t) => {
  t.deepEqual(values("StateDirectory"), ["lockstep-agent"]);
  t.deepEqual(values("StateDirectoryMode"), ["0700"]);
});

test("the install steps name the package, the config file and the certificates from lockstep-pki", (t) => {
  for (const fact of [
    "apt install ./lockstep-agent_<version>_amd64.deb",
    "/etc/lockstep/agent.json",
    "lockstep-pki",
    "/etc/lockstep/tls/ca.crt",
    "/etc/lockstep/tls/node.crt",
    "lockstep-agent doctor",
    "systemctl start lockstep-agent",
  ]) {
    t.true(comments.includes(fact), fact);
  }
});
