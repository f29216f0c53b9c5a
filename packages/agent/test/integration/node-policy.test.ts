import { writeFileSync } from "node:fs";
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import { agentV1, LockstepError, SuiteScope, type AgentClient, type PolicyRule } from "@lockstep/shared";
import { readCalls } from "@lockstep/sim";
import { nodeState } from "../../../../test/support/state-digest.js";
import { agentOnSim, OWNED, OWNER, policyEnv, sleep, TEMPLATE, type AgentUnderTest } from "./agent-harness.js";

/**
 * The agent enforces its node's policy itself, whatever the API checked: a real agent over
 * mTLS on a simulated node, called straight with a valid client certificate (as a stolen one
 * would be). Its policy file narrows cores and templates and names CT 100 as the one clone
 * source; everything else is the default policy, Proxmox's root@pam-only line. CT 101 is the
 * tests' own, CT 100 the allowed clone source, CT 102 a container no policy names.
 */
const test = anyTest as TestFn<{ agent: AgentUnderTest }>;
const suite = new SuiteScope();

const POLICY = { max: { cores: 2 }, templates: ["local:vztmpl/debian-*"], clone_sources: [100] };

test.before(async (t) => {
  const agent = await agentOnSim(suite, policyEnv(suite, POLICY));
  await agent.pct(["create", "100", TEMPLATE, "--storage", "local-lvm", "--hostname", "golden"]);
  await agent.pct(["create", "101", TEMPLATE, ...OWNED, "--hostname", "web-1"]);
  await agent.pct(["create", "102", TEMPLATE, "--storage", "local-lvm", "--hostname", "someone-else"]);
  t.context = { agent };
});
test.afterEach.always((t) => suite.noteResult(t));
test.after.always(() => suite.close());

let n = 0;
const id = () => `node-policy-${String(++n).padStart(6, "0")}`;
const create = (more: Partial<agentV1.CreateContainerRequest>) => ({
  requestId: id(),
  vmid: 150,
  template: TEMPLATE,
  hostname: "web-2",
  unprivileged: true,
  ownershipTag: OWNER,
  ...more,
});
const update = (more: Partial<agentV1.UpdateConfigRequest>) => ({
  requestId: id(),
  vmid: 101,
  ownershipTag: OWNER,
  ...more,
});

/** `pct` calls naming any of `vmids`, so far. */
const pctCallsFor = (agent: AgentUnderTest, vmids: readonly number[]) =>
  readCalls(agent.root).filter((c) => c.event === "start" && c.argv.some((arg) => vmids.includes(Number(arg))));

/**
 * Makes the call and checks the refusal: PERMISSION_DENIED over the wire with the rule in its
 * metadata (read back through AgentClient's fromServiceError), no `pct` run for any VMID it
 * names, and not a file of the node changed.
 */
async function refusedWith(
  t: ExecutionContext<{ agent: AgentUnderTest }>,
  call: (client: AgentClient) => Promise<unknown>,
  rule: PolicyRule,
  field: string,
  vmids: readonly number[],
): Promise<LockstepError> {
  const { agent } = t.context;
  const before = { calls: pctCallsFor(agent, vmids).length, node: nodeState(agent.root).files };
  const err = await t.throwsAsync(call(agent.client), { instanceOf: LockstepError });
  t.is(err?.code, "PERMISSION_DENIED", err?.message);
  t.like(err?.metadata, { rule, field });
  t.regex(err?.message ?? "", new RegExp(`^refused by the node policy \\(rule ${rule}\\)`));
  t.is(pctCallsFor(agent, vmids).length, before.calls, "no pct ran for the refused request");
  t.is(nodeState(agent.root).files, before.node, "the node is unchanged");
  return err!;
}

// pve-container src/PVE/API2/LXC.pm create_vm: `check($authuser, '/', ['Sys.Modify']) if !$unprivileged`.
test.serial("a privileged create is refused as privileged", async (t) => {
  await refusedWith(t, (c) => c.createContainer(create({ unprivileged: false })), "privileged", "unprivileged", [150]);
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: "changing feature flags (except nesting) is only allowed for root@pam".
test.serial("a create with features nesting=1,fuse=1 is refused as feature_flag", async (t) => {
  const err = await refusedWith(
    t,
    (c) => c.createContainer(create({ features: "nesting=1,fuse=1" })),
    "feature_flag",
    "features",
    [150],
  );
  t.regex(err.message, /fuse/);
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: the same rule for a change of an existing CT.
test.serial("keyctl=1 set on an existing container is refused as feature_flag", async (t) => {
  await refusedWith(
    t,
    (c) => c.updateConfig(update({ set: { features: "nesting=1,keyctl=1" } })),
    "feature_flag",
    "set.features",
    [101],
  );
});

// Raw lxc.* keys cannot be set through Proxmox's API at all: pve-container src/PVE/LXC/Config.pm
// parse_pct_config keeps them apart in `lxc`, and no API parameter writes them.
test.serial("an unconfined AppArmor profile is refused as apparmor_profile", async (t) => {
  await refusedWith(
    t,
    (c) => c.updateConfig(update({ lxc: { "lxc.apparmor.profile": "unconfined" } })),
    "apparmor_profile",
    "lxc.lxc.apparmor.profile",
    [101],
  );
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: "mount point type $data->{type} is
// only allowed for root@pam" for anything but a volume (src/PVE/LXC/Config.pm classify_mountpoint).
test.serial("a host bind mount point is refused as host_mount", async (t) => {
  await refusedWith(
    t,
    (c) => c.updateConfig(update({ set: { mp0: "/srv/host,mp=/data" } })),
    "host_mount",
    "set.mp0",
    [101],
  );
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: "configuring device passthrough is only allowed for root@pam".
test.serial("a dev0 passthrough is refused as device", async (t) => {
  await refusedWith(t, (c) => c.updateConfig(update({ set: { dev0: "/dev/fuse" } })), "device", "set.dev0", [101]);
});

// The policy file's ceiling: Proxmox's own bound is 8192 cores (pve-container src/PVE/LXC/Config.pm $confdesc).
test.serial("cores over the policy file's ceiling are refused as max_cores", async (t) => {
  await refusedWith(t, (c) => c.createContainer(create({ cores: 4 })), "max_cores", "cores", [150]);
});

// The policy file's templates; Proxmox allows any template volume the caller may read (create_vm).
test.serial("a template no glob of the policy file matches is refused as template", async (t) => {
  await refusedWith(
    t,
    (c) => c.createContainer(create({ template: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz" })),
    "template",
    "template",
    [150],
  );
});

// pve-container src/PVE/API2/LXC.pm clone_vm needs VM.Clone on the source: the policy names the sources.
test.serial("a clone of a source not in clone_sources is refused as clone_source", async (t) => {
  await refusedWith(
    t,
    (c) => c.cloneContainer({ requestId: id(), vmid: 151, sourceVmid: 102, hostname: "copy", ownershipTag: OWNER }),
    "clone_source",
    "sourceVmid",
    [151, 102],
  );
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: nesting alone needs only VM.Allocate.
test.serial(
  "requests the policy allows still run: an unprivileged create with nesting, and a clone of CT 100",
  async (t) => {
    const { agent } = t.context;
    const made = await agent.client.createContainer(create({ vmid: 160, cores: 2, features: "nesting=1" }));
    t.is(made.container?.vmid, 160);
    const cloned = await agent.client.cloneContainer({
      requestId: id(),
      vmid: 161,
      sourceVmid: 100,
      hostname: "copy",
      ownershipTag: OWNER,
    });
    t.is(cloned.container?.name, "copy");
    const changed = await agent.client.updateConfig(update({ set: { cores: "2", features: "nesting=1" } }));
    t.deepEqual(changed.changedKeys, ["cores", "features"]);
  },
);

// pve-container src/PVE/API2/LXC.pm create_vm: a privileged container needs Sys.Modify.
test.serial(
  "a refusal is streamed as POLICY_REFUSED naming the rule and the client certificate, and counted by rule",
  async (t) => {
    const { agent } = t.context;
    const events: agentV1.Event[] = [];
    const abort = new AbortController();
    const watching = agent.client.watchEvents(
      { vmids: [170], sinceMs: Date.now() },
      (e) => events.push(e),
      abort.signal,
    );
    const requestId = id();
    await t.throwsAsync(agent.client.createContainer(create({ requestId, vmid: 170, unprivileged: false })));
    for (let i = 0; i < 100 && events.length === 0; i++) await sleep(50);
    abort.abort();
    await watching;
    t.is(events[0]?.kind, agentV1.EventKind.POLICY_REFUSED);
    t.is(events[0]?.requestId, requestId);
    t.regex(events[0]?.detail ?? "", /rule privileged.*client test-operator/);
    const metrics = await (await fetch(agent.metricsUrl!)).text();
    t.regex(metrics, /^lockstep_agent_policy_refusals_total\{rule="privileged"\} [1-9]/m);
  },
);

// pve-container src/PVE/API2/LXC.pm create_vm: Sys.Modify for a privileged container, refused
// by default; a node owner who grants it widens the policy file and restarts the agent.
test("a refused request retried with the same request ID after the owner widened the policy runs", async (t) => {
  const env = policyEnv(t, {});
  const agent = await agentOnSim(t, env);
  const request = create({ requestId: "node-policy-widened", vmid: 150, unprivileged: false });
  await t.throwsAsync(agent.client.createContainer(request), { instanceOf: LockstepError, message: /rule privileged/ });
  writeFileSync(env.LOCKSTEP_AGENT_POLICY_FILE!, JSON.stringify({ privileged: true }));
  await agent.stop();
  const widened = await agent.restart();
  t.teardown(() => widened.stop());
  const made = await widened.client.createContainer(request);
  t.false(made.replayed, "the refusal was not replayed");
  t.is(made.container?.vmid, 150);
  t.notRegex((await widened.pct(["config", "150"])).stdout, /^unprivileged: 1$/m, "the container is privileged");
});
