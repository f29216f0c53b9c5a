import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { ConfigError } from "@lockstep/shared";
import { loadAgentConfig } from "../../src/config/load-config.js";

const base = { configPath: null, flags: {}, env: {}, simPct: "/opt/sim/pct" };

test("defaults describe a real Proxmox node", (t) => {
  const config = loadAgentConfig(base);
  t.is(config.pctPath, "/usr/sbin/pct");
  t.is(config.lockDir, "/run/lock/lxc");
  t.is(config.lockRetries, 3);
  t.is(config.requestRetentionMs, 24 * 3600 * 1000);
});

test("--simulate roots every node path in the simulated node and runs the simulator", (t) => {
  const config = loadAgentConfig({ ...base, flags: { simulate: "/tmp/pve9" } });
  t.is(config.pctPath, "/opt/sim/pct");
  t.is(config.lockDir, "/tmp/pve9/run/lock/lxc");
  t.is(config.configDir, "/tmp/pve9/etc/pve/lxc");
  t.is(config.stateDir, "/tmp/pve9/var/lib/lockstep-agent");
});

test("a bad environment value is refused with the key and the variable named", (t) => {
  const err = t.throws(() => loadAgentConfig({ ...base, env: { LOCKSTEP_AGENT_LOCK_RETRIES: "many" } }), { instanceOf: ConfigError });
  t.regex(err?.message ?? "", /^lockRetries \(from LOCKSTEP_AGENT_LOCK_RETRIES\) must be an integer from 0 to 20/);
});

test("an unknown key in the file is refused rather than ignored", (t) => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "agent-config-")), "agent.json");
  writeFileSync(file, JSON.stringify({ lockRetrys: 5 }));
  t.throws(() => loadAgentConfig({ ...base, configPath: file }), { message: /lockRetrys \(in .*agent\.json\) is not a known key/ });
});

test("flags win over the environment, which wins over the file", (t) => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "agent-config-")), "agent.json");
  writeFileSync(file, JSON.stringify({ listen: "127.0.0.1:1", lockRetries: 1 }));
  const config = loadAgentConfig({ ...base, configPath: file, env: { LOCKSTEP_AGENT_LISTEN: "127.0.0.1:2" }, flags: { listen: "127.0.0.1:3" } });
  t.is(config.listen, "127.0.0.1:3");
  t.is(config.lockRetries, 1);
});

test("a listen address that is not host:port is refused", (t) => {
  t.throws(() => loadAgentConfig({ ...base, flags: { listen: "7000" } }), { message: /^listen \(from command line\) must be host:port/ });
});
