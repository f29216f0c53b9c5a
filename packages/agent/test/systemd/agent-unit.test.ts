import test from "ava";
import { exposureOf, unitFile, verifyUnit } from "./unit-file.js";

// The network side's unit: gRPC, TLS and request records, unprivileged, sandboxed as far as Node bears.
const unit = unitFile("lockstep-agent.service");
const values = (key: string) => unit.values(key);

test("systemd-analyze verify accepts the network side's unit", async (t) => {
  t.is(await verifyUnit(t, unit), "");
});

test("systemd-analyze rates the network side's sandbox exposure at 3.0 or better (0 is best, 10 worst)", async (t) => {
  const { exposure, report } = await exposureOf(t, unit);
  t.log(`exposure ${exposure}`);
  t.true(exposure <= 3, report);
});

test("the network side runs as its own unprivileged user, without any capability or a way to gain one", (t) => {
  t.deepEqual(values("User"), ["lockstep-agent"]);
  t.deepEqual(values("Group"), ["lockstep-agent"]);
  t.deepEqual(values("CapabilityBoundingSet"), [""]);
  t.deepEqual(values("AmbientCapabilities"), [""]);
  t.deepEqual(values("NoNewPrivileges"), ["yes"]);
});

test("it reaches the node through the executor's socket, and starts after the executor without depending on it", (t) => {
  t.true(values("Environment").includes("LOCKSTEP_AGENT_EXECUTOR_SOCKET=/run/lockstep-executor/executor.sock"));
  t.true(values("After").some((v) => v.split(/\s+/).includes("lockstep-agent-executor.service")));
  t.true(values("Wants").some((v) => v.split(/\s+/).includes("lockstep-agent-executor.service")));
  // Requires= or BindsTo= would restart the network side (and drop its streams) with the executor.
  t.deepEqual([...values("Requires"), ...values("BindsTo"), ...values("PartOf")], []);
});

test("the node's TLS files reach the network side as systemd credentials, since it cannot read root's /etc/lockstep/tls", (t) => {
  t.deepEqual(values("LoadCredential"), [
    "ca.crt:/etc/lockstep/tls/ca.crt",
    "node.crt:/etc/lockstep/tls/node.crt",
    "node.key:/etc/lockstep/tls/node.key",
  ]);
  t.deepEqual(
    values("Environment").filter((env) => env.includes("LOCKSTEP_AGENT_TLS_")),
    ["LOCKSTEP_AGENT_TLS_CA=%d/ca.crt LOCKSTEP_AGENT_TLS_CERT=%d/node.crt LOCKSTEP_AGENT_TLS_KEY=%d/node.key"],
  );
  t.false(
    values("ExecStart").some((cmd) => /--tls|\.key\b/.test(cmd)),
    "no key on the command line",
  );
});

test("it starts only once the node's certificates are in place", (t) => {
  t.deepEqual(values("ConditionPathExists"), [
    "/etc/lockstep/tls/ca.crt",
    "/etc/lockstep/tls/node.crt",
    "/etc/lockstep/tls/node.key",
  ]);
});

test("its request records live in a state directory of its own, readable by its user alone", (t) => {
  t.deepEqual(values("StateDirectory"), ["lockstep-agent"]);
  t.deepEqual(values("StateDirectoryMode"), ["0700"]);
  t.deepEqual(values("UMask"), ["0077"]);
});

test("a crash never writes the network side's memory, which holds the TLS key, to a core file", (t) => {
  t.deepEqual(values("LimitCORE"), ["0"]);
});

test("a configuration error is not restarted in a loop", (t) => {
  t.deepEqual(values("RestartPreventExitStatus"), ["2"], "lockstep-agent exits 2 on a bad setting");
});

test("the install steps name the package, the config file, the certificates from lockstep-pki and the doctor", (t) => {
  for (const fact of [
    "apt install ./lockstep-agent_<version>_amd64.deb",
    "/etc/lockstep/agent.json",
    "lockstep-pki",
    "/etc/lockstep/tls/ca.crt",
    "/etc/lockstep/tls/node.crt",
    "lockstep-agent doctor",
    "systemctl start lockstep-agent",
  ]) {
    t.true(unit.comments.includes(fact), fact);
  }
});
