// The node policy check: what the agent will let callers make on this node, in words. Its
// line is Proxmox's between root@pam and everyone else (pve-container src/PVE/LXC.pm
// check_ct_modify_config_perm, src/PVE/API2/LXC.pm create_vm).
import { writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir } from "@lockstep/shared";
import { nodePolicyCheck } from "../../src/doctor/checks/node-policy-check.js";
import { checkOn, simulatedNode } from "./doctor-harness.js";

function policyFile(t: Parameters<typeof scratchDir>[0], policy: Record<string, unknown>): string {
  const file = path.join(scratchDir(t, "doctor-policy"), "policy.json");
  writeFileSync(file, JSON.stringify(policy));
  return file;
}

test("the node policy check passes on the default policy and says it is Proxmox's root@pam-only line", async (t) => {
  const result = await checkOn(t, simulatedNode(t), nodePolicyCheck, { LOCKSTEP_AGENT_POLICY_FILE: undefined });
  t.is(result.status, "pass");
  t.is(result.seen, "the default policy: Proxmox's root@pam-only line");
});

test("the node policy check names what a policy allows beyond the default, and its ceilings", async (t) => {
  const file = policyFile(t, { feature_flags: ["nesting", "keyctl"], clone_sources: [9000], max: { cores: 8 } });
  const result = await checkOn(t, simulatedNode(t), nodePolicyCheck, { LOCKSTEP_AGENT_POLICY_FILE: file });
  t.is(result.status, "pass");
  t.is(
    result.seen,
    "the policy of policyFile allows beyond Proxmox's root@pam-only line: feature flags keyctl; clones of CT 9000 (cores at most 8)",
  );
});

test("the node policy check warns about a policy that lets a container's root reach the node", async (t) => {
  const file = policyFile(t, { privileged: true, apparmor_profiles: ["unconfined"] });
  const result = await checkOn(t, simulatedNode(t), nodePolicyCheck, { LOCKSTEP_AGENT_POLICY_FILE: file });
  t.is(result.status, "warn");
  t.regex(result.seen, /root on the node is one step from a privileged container, an unconfined container$/);
});
