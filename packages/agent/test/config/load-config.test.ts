import { writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { ConfigError, DEFAULT_POLICY, scratchDir } from "@lockstep/shared";
import { loadAgentConfig } from "../../src/config/load-config.js";

const tls = {
  LOCKSTEP_AGENT_TLS_CA: "/etc/lockstep/tls/ca.crt",
  LOCKSTEP_AGENT_TLS_CERT: "/etc/lockstep/tls/node.crt",
  LOCKSTEP_AGENT_TLS_KEY: "/etc/lockstep/tls/node.key",
};
const base = { configPath: null, flags: {}, env: tls, simPct: "/opt/sim/pct" };

test("defaults describe a real Proxmox node", (t) => {
  const config = loadAgentConfig(base);
  t.is(config.paths.pct, "/usr/sbin/pct");
  t.is(config.paths.lockDir, "/run/lock/lxc");
  t.is(config.locks.retries, 3);
  t.is(config.requests.retentionMs, 24 * 3600 * 1000);
});

test("--simulate roots every node path in the simulated node and runs the simulator", (t) => {
  const config = loadAgentConfig({ ...base, flags: { simulate: "/tmp/pve9" } });
  t.is(config.paths.pct, "/opt/sim/pct");
  t.is(config.paths.lockDir, "/tmp/pve9/run/lock/lxc");
  t.is(config.paths.configDir, "/tmp/pve9/etc/pve/lxc");
  t.is(config.stateDir, "/tmp/pve9/var/lib/lockstep-agent");
});

test("a real node's pct gets nothing of the agent's environment beyond PATH", (t) => {
  t.deepEqual(loadAgentConfig({ ...base, env: { ...tls, LOCKSTEP_SIM_FAULTS: "[]" } }).paths.pctEnv, {});
});

test("a simulated node's pct gets its root, its node name and the simulator's own settings, and nothing else of the agent's environment", (t) => {
  const config = loadAgentConfig({
    ...base,
    flags: { simulate: "/tmp/pve9" },
    env: { ...tls, LOCKSTEP_SIM_LOCK_TIMEOUT_S: "3", HOME: "/root" },
  });
  t.deepEqual(Object.keys(config.paths.pctEnv).sort(), [
    "LOCKSTEP_SIM_LOCK_TIMEOUT_S",
    "LOCKSTEP_SIM_NODE",
    "LOCKSTEP_SIM_ROOT",
    "PATH",
  ]);
  t.like(config.paths.pctEnv, {
    LOCKSTEP_SIM_ROOT: "/tmp/pve9",
    LOCKSTEP_SIM_NODE: config.node,
    LOCKSTEP_SIM_LOCK_TIMEOUT_S: "3",
  });
  t.true(
    config.paths.pctEnv.PATH!.startsWith(`${path.dirname(process.execPath)}:`),
    "the simulator's Node.js is found",
  );
});

test("a simulated node joining a cluster takes its name and cluster from LOCKSTEP_SIM_NODE and LOCKSTEP_SIM_CLUSTER", (t) => {
  const config = loadAgentConfig({
    ...base,
    flags: { simulate: "/tmp/pve9" },
    env: { ...tls, LOCKSTEP_SIM_NODE: "pve2", LOCKSTEP_SIM_CLUSTER: "/tmp/lab" },
  });
  t.is(config.node, "pve2");
  t.like(config.paths.pctEnv, { LOCKSTEP_SIM_NODE: "pve2", LOCKSTEP_SIM_CLUSTER: "/tmp/lab" });
});

test("a bad environment value is refused with the key and the variable named", (t) => {
  const err = t.throws(() => loadAgentConfig({ ...base, env: { ...tls, LOCKSTEP_AGENT_LOCK_RETRIES: "many" } }), {
    instanceOf: ConfigError,
  });
  t.regex(err?.message ?? "", /^lockRetries \(from LOCKSTEP_AGENT_LOCK_RETRIES\) must be an integer from 0 to 20/);
});

test("an unknown key in the file is refused rather than ignored", (t) => {
  const file = path.join(scratchDir(t, "agent-config"), "agent.json");
  writeFileSync(file, JSON.stringify({ lockRetrys: 5 }));
  t.throws(() => loadAgentConfig({ ...base, configPath: file }), {
    message: /lockRetrys \(in .*agent\.json\) is not a known key/,
  });
});

test("flags win over the environment, which wins over the file", (t) => {
  const file = path.join(scratchDir(t, "agent-config"), "agent.json");
  writeFileSync(file, JSON.stringify({ listen: "127.0.0.1:1", lockRetries: 1 }));
  const config = loadAgentConfig({
    ...base,
    configPath: file,
    env: { ...tls, LOCKSTEP_AGENT_LISTEN: "127.0.0.1:2" },
    flags: { listen: "127.0.0.1:3" },
  });
  t.is(config.transport.listen, "127.0.0.1:3");
  t.is(config.locks.retries, 1);
});

test("a listen address that is not host:port is refused", (t) => {
  t.throws(() => loadAgentConfig({ ...base, flags: { listen: "7000" } }), {
    message: /^listen \(from command line\) must be host:port/,
  });
});

test("an empty metricsListen, from the file, the environment or a flag, turns the metrics listener off", (t) => {
  const dir = scratchDir(t, "agent-config");
  const file = path.join(dir, "agent.json");
  writeFileSync(file, JSON.stringify({ metricsListen: "" }));
  t.is(loadAgentConfig(base).metricsListen, "127.0.0.1:9470");
  t.is(loadAgentConfig({ ...base, configPath: file }).metricsListen, "");
  t.is(loadAgentConfig({ ...base, env: { ...tls, LOCKSTEP_AGENT_METRICS_LISTEN: "" } }).metricsListen, "");
  t.is(loadAgentConfig({ ...base, flags: { metricsListen: "" } }).metricsListen, "");
});

test("an empty listen address is still refused: only settings that can be off take an empty value", (t) => {
  t.throws(() => loadAgentConfig({ ...base, env: { ...tls, LOCKSTEP_AGENT_LISTEN: "" } }), {
    instanceOf: ConfigError,
    message: /^listen \(from LOCKSTEP_AGENT_LISTEN\) must be a non-empty string/,
  });
  t.throws(() => loadAgentConfig({ ...base, env: { ...tls, LOCKSTEP_AGENT_METRICS_LISTEN: "9470" } }), {
    instanceOf: ConfigError,
    message: /^metricsListen \(from LOCKSTEP_AGENT_METRICS_LISTEN\) must be host:port, or empty for no metrics/,
  });
});

test("mutual TLS is the default, and each missing certificate setting is named", (t) => {
  const { LOCKSTEP_AGENT_TLS_KEY: _key, ...withoutKey } = tls;
  t.throws(() => loadAgentConfig({ ...base, env: withoutKey }), {
    instanceOf: ConfigError,
    message: /^tlsKey is required with transport mtls \(set it in the config file or LOCKSTEP_AGENT_TLS_KEY/,
  });
  t.is(loadAgentConfig(base).transport.kind, "mtls");
});

test("plaintext is accepted only for a loopback listener", (t) => {
  const plaintext = { LOCKSTEP_AGENT_TRANSPORT: "plaintext-loopback" };
  t.is(
    loadAgentConfig({ ...base, env: { ...plaintext, LOCKSTEP_AGENT_LISTEN: "127.0.0.1:7000" } }).transport.kind,
    "plaintext-loopback",
  );
  t.is(
    loadAgentConfig({ ...base, env: { ...plaintext, LOCKSTEP_AGENT_LISTEN: "[::1]:7000" } }).transport.kind,
    "plaintext-loopback",
  );
  for (const listen of ["0.0.0.0:7000", "10.0.0.5:7000", "[::]:7000", "pve1:7000"]) {
    t.throws(
      () => loadAgentConfig({ ...base, env: { ...plaintext, LOCKSTEP_AGENT_LISTEN: listen } }),
      { message: /plaintext-loopback needs a loopback listen address/ },
      listen,
    );
  }
});

test("allowed client names are a comma-separated list of certificate names", (t) => {
  t.deepEqual(
    loadAgentConfig({ ...base, env: { ...tls, LOCKSTEP_AGENT_TLS_ALLOWED_CLIENTS: "lockstep-api,ops.alice" } })
      .transport.allowedClients,
    ["lockstep-api", "ops.alice"],
  );
  t.deepEqual(loadAgentConfig(base).transport.allowedClients, []);
  t.throws(() => loadAgentConfig({ ...base, env: { ...tls, LOCKSTEP_AGENT_TLS_ALLOWED_CLIENTS: "a b;c" } }), {
    message: /^tlsAllowedClients .* must be comma-separated certificate names/,
  });
});

test("settings written flat reach the agent in the groups their users take", (t) => {
  const config = loadAgentConfig({
    ...base,
    env: {
      ...tls,
      LOCKSTEP_AGENT_PCT_CREATE_TIMEOUT_MS: "90000",
      LOCKSTEP_AGENT_LOCK_STALE_GRACE_MS: "5000",
      LOCKSTEP_AGENT_MAX_REQUEST_RECORDS: "5000",
      LOCKSTEP_AGENT_GRPC_MAX_MESSAGE_BYTES: "1048576",
    },
    flags: { maxConcurrentOperations: 4 },
  });
  t.is(config.pct.timeouts.createMs, 90_000);
  t.is(config.locks.staleGraceMs, 5_000);
  t.is(config.requests.maxRecords, 5_000);
  t.is(config.transport.maxMessageBytes, 1_048_576);
  t.is(config.operations.maxConcurrent, 4);
  t.is(config.transport.cert, "/etc/lockstep/tls/node.crt");
});

test("the heap may grow 20 % past its live data by default, and 0 leaves V8's own factor", (t) => {
  t.is(loadAgentConfig(base).heapGrowthPercent, 20);
  t.is(loadAgentConfig({ ...base, env: { ...tls, LOCKSTEP_AGENT_HEAP_GROWTH_PERCENT: "0" } }).heapGrowthPercent, 0);
  t.throws(() => loadAgentConfig({ ...base, env: { ...tls, LOCKSTEP_AGENT_HEAP_GROWTH_PERCENT: "-5" } }), {
    instanceOf: ConfigError,
    message: /^heapGrowthPercent \(from LOCKSTEP_AGENT_HEAP_GROWTH_PERCENT\)/,
  });
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: privileged containers (Sys.Modify,
// src/PVE/API2/LXC.pm create_vm), feature flags but nesting, host mounts and devN are root@pam's alone.
test("without a policyFile, or with an empty one, the agent enforces the default policy", (t) => {
  const file = path.join(scratchDir(t, "agent-config"), "agent.json");
  writeFileSync(file, JSON.stringify({ policyFile: "" }));
  t.deepEqual(loadAgentConfig(base).policy, DEFAULT_POLICY);
  t.deepEqual(loadAgentConfig({ ...base, configPath: file }).policy, DEFAULT_POLICY);
  t.false(DEFAULT_POLICY.privileged);
  t.deepEqual(DEFAULT_POLICY.feature_flags, ["nesting"]);
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: what the file leaves out keeps
// Proxmox's root@pam-only default (here: feature flags but nesting).
test("a policyFile is read at start, its missing keys taking the default policy's values", (t) => {
  const dir = scratchDir(t, "agent-config");
  const policyFile = path.join(dir, "policy.json");
  writeFileSync(policyFile, JSON.stringify({ privileged: true, max: { cores: 4 }, clone_sources: [9000] }));
  const config = loadAgentConfig({ ...base, env: { ...tls, LOCKSTEP_AGENT_POLICY_FILE: policyFile } });
  t.true(config.policy.privileged);
  t.is(config.policy.max.cores, 4);
  t.deepEqual(config.policy.clone_sources, [9000]);
  t.deepEqual(config.policy.feature_flags, ["nesting"]);
});

test("a config file that is not JSON stops the start, naming the file", (t) => {
  const configPath = path.join(scratchDir(t, "agent-config"), "agent.json");
  writeFileSync(configPath, '{ "node": "pve1",');
  t.throws(() => loadAgentConfig({ ...base, configPath }), {
    instanceOf: ConfigError,
    message: new RegExp(`^config file: ${configPath} is not JSON`),
  });
});

test("a config file that holds no JSON object stops the start, naming the file", (t) => {
  const configPath = path.join(scratchDir(t, "agent-config"), "agent.json");
  writeFileSync(configPath, '["node", "pve1"]');
  t.throws(() => loadAgentConfig({ ...base, configPath }), {
    instanceOf: ConfigError,
    message: `config file: ${configPath} must hold a JSON object`,
  });
});

test("a missing policy file stops the start, naming policyFile and the file", (t) => {
  const policyFile = path.join(scratchDir(t, "agent-config"), "nowhere.json");
  t.throws(() => loadAgentConfig({ ...base, flags: { policyFile } }), {
    instanceOf: ConfigError,
    message: new RegExp(`^policyFile: cannot read ${policyFile}: ENOENT`),
  });
});

test("a policy file that is not JSON stops the start, naming policyFile and the file", (t) => {
  const policyFile = path.join(scratchDir(t, "agent-config"), "policy.json");
  writeFileSync(policyFile, "{ privileged: true");
  t.throws(() => loadAgentConfig({ ...base, flags: { policyFile } }), {
    instanceOf: ConfigError,
    message: new RegExp(`^policyFile: ${policyFile} is not JSON`),
  });
});

// pve-container src/PVE/LXC/Config.pm $features_desc: keyctl is a feature flag, "keyring" is none.
test("a policy file with a wrong value stops the start, naming policyFile, the file and the bad key", (t) => {
  const policyFile = path.join(scratchDir(t, "agent-config"), "policy.json");
  writeFileSync(policyFile, JSON.stringify({ feature_flags: ["nesting", "keyring"] }));
  t.throws(() => loadAgentConfig({ ...base, flags: { policyFile } }), {
    instanceOf: ConfigError,
    message: new RegExp(`^policyFile ${policyFile}: /feature_flags/1 `),
  });
  writeFileSync(policyFile, JSON.stringify({ priviledged: true }));
  t.throws(() => loadAgentConfig({ ...base, flags: { policyFile } }), {
    instanceOf: ConfigError,
    message: new RegExp(`^policyFile ${policyFile}: `),
  });
});

test("a relative policyFile is refused: the agent's working directory is no place to look for it", (t) => {
  t.throws(() => loadAgentConfig({ ...base, flags: { policyFile: "policy.json" } }), {
    instanceOf: ConfigError,
    message: /^policyFile \(from command line\) must be an absolute path, or empty for the default policy/,
  });
});
