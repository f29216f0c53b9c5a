import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { ConfigError, DEFAULT_POLICY } from "@lockstep/shared";
import { loadApiConfig } from "../src/config/api-config.js";

const base = {
  LOCKSTEP_DATABASE_URL: "mysql://lockstep:secret@127.0.0.1:3306/lockstep",
  LOCKSTEP_API_AGENT_TLS_CA: "/etc/lockstep/tls/ca.crt",
  LOCKSTEP_API_AGENT_TLS_CERT: "/etc/lockstep/tls/api.crt",
  LOCKSTEP_API_AGENT_TLS_KEY: "/etc/lockstep/tls/api.key",
};

test("settings written flat reach the API in the groups their users take", (t) => {
  const config = loadApiConfig(
    { listen: "0.0.0.0:9000" },
    {
      ...base,
      LOCKSTEP_API_JOB_LEASE_MS: "5000",
      LOCKSTEP_API_VMID_MIN: "2000",
      LOCKSTEP_API_VMID_MAX: "2999",
      LOCKSTEP_API_ALERT_CHANNEL: "pagerduty",
      LOCKSTEP_API_PAGERDUTY_ROUTING_KEY: "R0UTING",
      LOCKSTEP_API_RECONCILE_MISSING: "recreate",
    },
  );
  t.is(config.http.listen, "0.0.0.0:9000");
  t.is(config.jobs.leaseMs, 5_000);
  t.deepEqual(config.vmids, { min: 2_000, max: 2_999 });
  t.deepEqual(config.alerts.pagerduty, { routingKey: "R0UTING", url: "https://events.pagerduty.com/v2/enqueue" });
  t.is(config.reconcile.missing, "recreate");
  t.deepEqual(config.agents.tls, {
    ca: base.LOCKSTEP_API_AGENT_TLS_CA,
    cert: base.LOCKSTEP_API_AGENT_TLS_CERT,
    key: base.LOCKSTEP_API_AGENT_TLS_KEY,
  });
});

test("a bad setting is named by the key its writer used", (t) => {
  t.throws(() => loadApiConfig({}, { ...base, LOCKSTEP_API_JOB_LEASE_MS: "soon" }), {
    instanceOf: ConfigError,
    message: /^jobLeaseMs /,
  });
  t.throws(() => loadApiConfig({}, { ...base, LOCKSTEP_API_PORT_MIN: "3000", LOCKSTEP_API_PORT_MAX: "2000" }), {
    instanceOf: ConfigError,
    message: "portMax (2000) must not be below portMin (3000)",
  });
});

test("without policyFile the global policy is the default one, which refuses privileged containers", (t) => {
  const config = loadApiConfig({}, base);
  t.deepEqual(config.policy, DEFAULT_POLICY);
  t.false(config.policy.privileged);
});

test("policyFile is read once at start-up with the default policy's values for keys it leaves out", (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lockstep-api-policy-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "policy.json");
  writeFileSync(file, JSON.stringify({ max: { cores: 4 }, max_containers: 20 }));
  const config = loadApiConfig({}, { ...base, LOCKSTEP_API_POLICY_FILE: file });
  t.like(config.policy, { privileged: false, max: { cores: 4 }, max_containers: 20, feature_flags: ["nesting"] });
});

test("a policyFile that is missing or not a policy stops the start, naming the key and the file", (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lockstep-api-policy-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = path.join(dir, "missing.json");
  t.throws(() => loadApiConfig({}, { ...base, LOCKSTEP_API_POLICY_FILE: missing }), {
    instanceOf: ConfigError,
    message: `policyFile: cannot read ${missing}: ENOENT`,
  });
  const wrong = path.join(dir, "wrong.json");
  writeFileSync(wrong, JSON.stringify({ max: { cores: "four" } }));
  t.throws(() => loadApiConfig({}, { ...base, LOCKSTEP_API_POLICY_FILE: wrong }), {
    instanceOf: ConfigError,
    message: new RegExp(`^policyFile ${wrong}: /max/cores `),
  });
});
