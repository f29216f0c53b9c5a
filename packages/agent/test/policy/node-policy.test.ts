import test, { type ExecutionContext } from "ava";
import {
  createMemoryLogger,
  DEFAULT_POLICY,
  LockstepError,
  parsePolicy,
  type Policy,
  type PolicyRule,
} from "@lockstep/shared";
import { cloneContainer, type CloneSpec } from "../../src/containers/clone-container.js";
import { createContainer } from "../../src/containers/create-container.js";
import { updateConfig, type ConfigChange } from "../../src/containers/update-config.js";
import { isReplayedFailure } from "../../src/dedup/failure-policy.js";
import { PermissionDeniedError } from "../../src/errors.js";
import type { NodeEvent } from "../../src/events/node-event.js";
import type { LockReportView } from "../../src/locks/lock-report.js";
import { AgentMetrics } from "../../src/metrics/agent-metrics.js";
import type { OperationScope } from "../../src/pct/operation-scope.js";
import { cloneSourceAsk, isHostMount, requirePolicy, updateAsk } from "../../src/policy/node-policy.js";
import { createSpec, fakeNode, testOperation } from "../containers/fake-node.js";

const OWNER = "lockstep-test";
// An unprivileged CT as `pct create` writes it, the tests' own.
const UNPRIVILEGED = `arch: amd64\ncores: 1\nmemory: 512\nswap: 512\nrootfs: local-lvm:vm-200-disk-0,size=8G\ntags: ${OWNER}\nunprivileged: 1\n`;

const SPEC = createSpec();
const CLONE: CloneSpec = {
  vmid: 151,
  sourceVmid: 200,
  snapshot: "",
  hostname: "",
  full: false,
  storage: "",
  description: "",
};
const change = (
  set: Record<string, string>,
  lxc: Record<string, string> = {},
  remove: string[] = [],
): ConfigChange => ({
  set,
  remove,
  lxc,
});

/** A fake node under `policy`, whose lock gate records each wait (a refusal must come before any) and finds every lock free. */
function node(t: Parameters<typeof fakeNode>[0], policy: Policy = DEFAULT_POLICY) {
  const gated: number[] = [];
  const fake = fakeNode(t, () => ({}));
  const free = { verdict: "FREE", ownerKind: "NONE", holders: [], activeTasks: [], configLock: "", detail: "" };
  const gate = {
    ensureFree: async (vmid: number) => void gated.push(vmid),
    settle: async (vmid: number) => (gated.push(vmid), free as unknown as LockReportView),
  };
  return { ...fake, ctx: { ...fake.ctx, policy, gate }, gated };
}

/** Resolves with the refusal `work` throws, checked to be PERMISSION_DENIED for `rule` on `field`. */
async function refused(
  t: ExecutionContext,
  work: Promise<unknown>,
  rule: PolicyRule,
  field: string,
): Promise<PermissionDeniedError> {
  const err = await t.throwsAsync(work, { instanceOf: PermissionDeniedError });
  t.is(err?.code, "PERMISSION_DENIED");
  t.like(err?.metadata, { rule, field });
  t.regex(err?.message ?? "", new RegExp(`^refused by the node policy \\(rule ${rule}\\): `));
  return err!;
}

// --- CreateContainer ---

// pve-container src/PVE/API2/LXC.pm create_vm: `$rpcenv->check($authuser, '/', ['Sys.Modify']) if !$unprivileged`.
test("a create of a privileged container is refused by the default policy before anything runs", async (t) => {
  const n = node(t);
  await refused(
    t,
    createContainer(n.ctx, { ...SPEC, unprivileged: false }, OWNER, testOperation("r1")),
    "privileged",
    "unprivileged",
  );
  t.deepEqual(n.calls, []);
  t.deepEqual(n.gated, []);
  t.is(await n.ctx.intents.get(150), null);
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: "changing feature flags (except nesting) is only allowed for root@pam".
test("a create with a feature flag other than nesting is refused by the default policy", async (t) => {
  const n = node(t);
  const err = await refused(
    t,
    createContainer(n.ctx, { ...SPEC, features: "nesting=1,keyctl=1" }, OWNER, testOperation("r1")),
    "feature_flag",
    "features",
  );
  t.regex(err.message, /keyctl/);
  t.notRegex(err.message, /nesting/);
  t.deepEqual(n.calls, []);
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: nesting alone needs only VM.Allocate.
test("a create with nesting alone passes the default policy", (t) => {
  const n = node(t);
  t.notThrows(() =>
    requirePolicy(
      n.ctx,
      150,
      { subject: { featureFlags: ["nesting"], privileged: false }, fields: {} },
      testOperation("r1"),
    ),
  );
});

// The default policy sets no ceilings and allows any template and storage (Proxmox's own limits
// are the spec's bounds, pve-container src/PVE/LXC/Config.pm $confdesc); a node owner narrows them.
const NARROW = parsePolicy(
  {
    max: { cores: 2, memory_mb: 1024, swap_mb: 256, disk_gb: 16 },
    templates: ["local:vztmpl/debian-*"],
    storages: ["local-lvm"],
  },
  "the test's policy",
);
// What a node owner who trusts every caller with root@pam's powers writes.
const WIDE = parsePolicy(
  {
    privileged: true,
    apparmor_profiles: ["unconfined"],
    feature_flags: ["nesting", "keyctl", "fuse", "mknod", "mount", "force_rw_sys"],
    host_mounts: true,
    devices: true,
    clone_sources: [200],
  },
  "the test's wide policy",
);

for (const [name, asked, rule, field] of [
  ["cores over the ceiling", { cores: 4 }, "max_cores", "cores"],
  ["memory over the ceiling", { memoryMb: 2048 }, "max_memory_mb", "memoryMb"],
  ["swap over the ceiling", { swapMb: 512 }, "max_swap_mb", "swapMb"],
  ["a root disk over the ceiling", { diskGb: 32 }, "max_disk_gb", "diskGb"],
  [
    "a template no glob of templates matches",
    { template: "local:vztmpl/alpine-3.20-default_amd64.tar.xz" },
    "template",
    "template",
  ],
  ["a storage no glob of storages matches", { storage: "local-zfs" }, "storage", "storage"],
] as const) {
  test(`a create asking for ${name} is refused by a policy that narrows it`, async (t) => {
    const n = node(t, NARROW);
    await refused(t, createContainer(n.ctx, { ...SPEC, swapMb: 0, ...asked }, OWNER, testOperation("r1")), rule, field);
    t.deepEqual(n.calls, []);
  });
}

// --- CloneContainer ---

// pve-container src/PVE/API2/LXC.pm clone_vm needs VM.Clone on the source: a clone copies another
// guest's disk. The default policy names no source, so nothing is cloned until the owner names one.
test("a clone of a source not among clone_sources is refused before the source is even waited for", async (t) => {
  const n = node(t);
  n.writeConfig(200, UNPRIVILEGED);
  await refused(t, cloneContainer(n.ctx, CLONE, OWNER, testOperation("r1")), "clone_source", "sourceVmid");
  t.deepEqual(n.gated, []);
  t.deepEqual(n.calls, []);
});

// pve-container src/PVE/API2/LXC.pm clone_vm: Datastore.AllocateSpace on the target storage.
test("a clone to a storage outside storages is refused before the source is waited for", async (t) => {
  const n = node(t, parsePolicy({ clone_sources: [200], storages: ["local-lvm"] }, "the test's policy"));
  n.writeConfig(200, UNPRIVILEGED);
  await refused(
    t,
    cloneContainer(n.ctx, { ...CLONE, full: true, storage: "nfs" }, OWNER, testOperation("r1")),
    "storage",
    "storage",
  );
  t.deepEqual(n.gated, []);
});

// pve-container src/PVE/API2/LXC.pm clone_vm copies every key of the source but disks and network
// (`# copy everything else`), `unprivileged` included, whose default is 0 (src/PVE/LXC/Config.pm).
test("a clone of a privileged source is refused after the source is read and before anything is written", async (t) => {
  const n = node(t, parsePolicy({ clone_sources: [200] }, "the test's policy"));
  n.writeConfig(200, `arch: amd64\nmemory: 512\nrootfs: local-lvm:vm-200-disk-0,size=8G\n`);
  await refused(t, cloneContainer(n.ctx, CLONE, OWNER, testOperation("r1")), "privileged", "sourceVmid");
  t.deepEqual(n.calls, []);
  t.is(await n.ctx.intents.get(151), null);
});

// pve-container src/PVE/API2/LXC.pm clone_vm: `$src_conf = $snapname ? $src_conf->{snapshots}->{$snapname} : $src_conf`.
test("a clone of a snapshot is checked against the snapshot's configuration, not the current one", async (t) => {
  const n = node(t, parsePolicy({ clone_sources: [200] }, "the test's policy"));
  n.writeConfig(200, `${UNPRIVILEGED}\n[before]\narch: amd64\nfeatures: keyctl=1\nunprivileged: 1\n`);
  await refused(
    t,
    cloneContainer(n.ctx, { ...CLONE, snapshot: "before" }, OWNER, testOperation("r1")),
    "feature_flag",
    "sourceVmid",
  );
  t.deepEqual(n.calls, []);
});

// pve-container src/PVE/LXC/Config.pm classify_mountpoint (a path is a bind or device mount), $confdesc
// (memory and swap default to 512), and clone_vm copying mpN, devN and lxc.* as they are.
test("a source with a host bind mount, a device, or a raw AppArmor profile breaks the matching rule", (t) => {
  const source = (extra: string) => cloneSourceAsk({ values: parse(`unprivileged: 1\n${extra}`), description: "" });
  t.deepEqual(source("mp0: /srv/host,mp=/data\n").subject.hostMounts, ["mp0"]);
  t.deepEqual(source("mp0: local-lvm:vm-200-disk-1,mp=/data\n").subject.hostMounts, []);
  t.deepEqual(source("dev0: /dev/fuse\n").subject.devices, ["dev0"]);
  t.is(source("lxc.apparmor.profile: unconfined\n").subject.apparmorProfile, "unconfined");
  t.like(source("memory: 8192\n").subject, { memoryMb: 8192, swapMb: 512, privileged: false });
});

// --- UpdateConfig ---

test("a volume mount point is allowed while a host path mount point is refused as host_mount", async (t) => {
  // pve-container src/PVE/LXC.pm check_ct_modify_config_perm: "mount point type $data->{type} is
  // only allowed for root@pam" unless it is a volume (src/PVE/LXC/Config.pm classify_mountpoint).
  const n = node(t);
  n.writeConfig(101, UNPRIVILEGED);
  const allowed = await updateConfig(
    n.ctx,
    101,
    change({ mp0: "local-lvm:vm-100-disk-1,mp=/data" }),
    testOperation("r1"),
    OWNER,
  );
  t.deepEqual(allowed.changedKeys, ["mp0"]);
  const before = n.calls.length;
  await refused(
    t,
    updateConfig(n.ctx, 101, change({ mp0: "/srv/host,mp=/data" }), testOperation("r2"), OWNER),
    "host_mount",
    "set.mp0",
  );
  t.is(n.calls.length, before);
});

// pve-common src/PVE/JSONSchema.pm parse_property_string: an item without `key=` is the default key (volume).
test("a mount point's volume is read as Proxmox parses it: the volume= item or the item without a key", (t) => {
  t.true(isHostMount("/srv/host,mp=/data"));
  t.true(isHostMount("mp=/data,volume=/dev/sdb1"));
  t.true(isHostMount("mp=/data,/srv/host,ro=1"));
  t.false(isHostMount("local-lvm:vm-100-disk-1,mp=/data"));
  t.false(isHostMount("mp=/data,volume=local-lvm:8"));
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: "configuring device passthrough is only allowed for root@pam".
test("a device passthrough key is refused as device", async (t) => {
  const n = node(t);
  n.writeConfig(101, UNPRIVILEGED);
  await refused(
    t,
    updateConfig(n.ctx, 101, change({ dev0: "/dev/fuse" }), testOperation("r1"), OWNER),
    "device",
    "set.dev0",
  );
  t.deepEqual(n.calls, []);
});

test("a feature flag other than nesting set on an existing container is refused as feature_flag", async (t) => {
  // pve-container src/PVE/LXC.pm check_ct_modify_config_perm: "changing feature flags (except nesting) is only allowed for root@pam".
  const n = node(t);
  n.writeConfig(101, UNPRIVILEGED);
  await refused(
    t,
    updateConfig(n.ctx, 101, change({ features: "nesting=1,fuse=1" }), testOperation("r1"), OWNER),
    "feature_flag",
    "set.features",
  );
  t.deepEqual(n.calls, []);
});

// Raw lxc.* keys cannot be set through Proxmox's API at all (pve-container src/PVE/LXC/Config.pm
// parse_pct_config keeps them in `lxc`, which no API parameter writes).
test("a raw AppArmor profile the policy does not name is refused as apparmor_profile, and the config file is not written", async (t) => {
  const n = node(t);
  n.writeConfig(101, UNPRIVILEGED);
  await refused(
    t,
    updateConfig(n.ctx, 101, change({}, { "lxc.apparmor.profile": "unconfined" }), testOperation("r1"), OWNER),
    "apparmor_profile",
    "lxc.lxc.apparmor.profile",
  );
  t.deepEqual(n.gated, []);
});

// pve-container src/PVE/API2/LXC.pm update_vm and create_vm: a privileged container needs Sys.Modify.
test("asking for unprivileged 0, or deleting the key, is refused as privileged", async (t) => {
  const n = node(t);
  n.writeConfig(101, UNPRIVILEGED);
  await refused(
    t,
    updateConfig(n.ctx, 101, change({ unprivileged: "0" }), testOperation("r1"), OWNER),
    "privileged",
    "set.unprivileged",
  );
  await refused(
    t,
    updateConfig(n.ctx, 101, change({}, {}, ["unprivileged"]), testOperation("r2"), OWNER),
    "privileged",
    "delete.unprivileged",
  );
  t.deepEqual(n.calls, []);
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: cores, memory and swap need only
// VM.Config.CPU / VM.Config.Memory; ceilings are the node owner's own narrowing.
test("cores, memory and swap set over the policy's ceilings are refused, naming the config key", async (t) => {
  const n = node(t, NARROW);
  n.writeConfig(101, UNPRIVILEGED);
  await refused(
    t,
    updateConfig(n.ctx, 101, change({ cores: "4" }), testOperation("r1"), OWNER),
    "max_cores",
    "set.cores",
  );
  await refused(
    t,
    updateConfig(n.ctx, 101, change({ memory: "4096" }), testOperation("r2"), OWNER),
    "max_memory_mb",
    "set.memory",
  );
  await refused(
    t,
    updateConfig(n.ctx, 101, change({ swap: "1024" }), testOperation("r3"), OWNER),
    "max_swap_mb",
    "set.swap",
  );
  t.deepEqual(n.calls, []);
});

// pve-container src/PVE/LXC/Config.pm $confdesc: cores, memory and swap are integers.
test("a resource that is not a whole number is INVALID_ARGUMENT, since no ceiling could be checked on it", async (t) => {
  const n = node(t, NARROW);
  n.writeConfig(101, UNPRIVILEGED);
  await t.throwsAsync(updateConfig(n.ctx, 101, change({ cores: "4.5" }), testOperation("r1"), OWNER), {
    instanceOf: LockstepError,
    message: /^set\.cores must be a whole number/,
  });
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: "changing the hookscript is only allowed for root@pam".
test("hookscript and rootfs cannot be set through the agent at all, whatever the policy", async (t) => {
  const n = node(t, WIDE);
  n.writeConfig(101, UNPRIVILEGED);
  for (const [key, value] of [
    ["hookscript", "local:snippets/hook.sh"],
    ["rootfs", "local-lvm:vm-101-disk-0,size=64G"],
  ] as const)
    await t.throwsAsync(updateConfig(n.ctx, 101, change({ [key]: value }), testOperation(`r-${key}`), OWNER), {
      instanceOf: LockstepError,
      message: new RegExp(`^config key '${key}' cannot be set through the agent`),
    });
  t.deepEqual(n.calls, []);
});

// --- What a refusal leaves ---

// pve-container src/PVE/API2/LXC.pm create_vm (Sys.Modify for privileged) and src/PVE/LXC.pm
// check_ct_modify_config_perm (feature flags but nesting): both root@pam's by default.
test("a request breaking several rules names the first in rule and all of them in rules", async (t) => {
  const n = node(t);
  const err = await refused(
    t,
    createContainer(n.ctx, { ...SPEC, unprivileged: false, features: "keyctl=1" }, OWNER, testOperation("r1")),
    "privileged",
    "unprivileged",
  );
  t.is(err.metadata.rules, "privileged,feature_flag");
  t.is(err.metadata.vmid, "150");
});

// pve-container src/PVE/API2/LXC.pm create_vm: a privileged container needs Sys.Modify (the default refuses it).
test("a refusal is logged at warn with its rule, VMID, request ID and client, and published as a policy-refused event", async (t) => {
  const n = node(t);
  const logger = createMemoryLogger();
  const op: OperationScope = { ...testOperation("req-policy-1"), logger, client: "lockstep-api" };
  const events: NodeEvent[] = [];
  n.ctx.events.subscribe((event) => events.push(event));
  await refused(t, createContainer(n.ctx, { ...SPEC, unprivileged: false }, OWNER, op), "privileged", "unprivileged");
  const warning = logger.entries.find((e) => e.msg === "the node policy refused the request");
  t.like(warning, { level: "warn", rule: "privileged", vmid: 150, requestId: "req-policy-1", client: "lockstep-api" });
  t.is(events.length, 1);
  t.like(events[0], { kind: "policy-refused", vmid: 150, requestId: "req-policy-1", rule: "privileged", node: "pve1" });
  t.regex(events[0]!.detail, /rule privileged.*client lockstep-api/);
});

// Defaults: pve-container src/PVE/API2/LXC.pm create_vm (privileged) and src/PVE/LXC.pm check_ct_modify_config_perm (fuse).
test("each refusal counts in lockstep_agent_policy_refusals_total by its rule", async (t) => {
  const n = node(t);
  const metrics = new AgentMetrics(n.ctx.events);
  await refused(
    t,
    createContainer(n.ctx, { ...SPEC, unprivileged: false }, OWNER, testOperation("r1")),
    "privileged",
    "unprivileged",
  );
  await refused(
    t,
    createContainer(n.ctx, { ...SPEC, features: "fuse=1" }, OWNER, testOperation("r2")),
    "feature_flag",
    "features",
  );
  const text = await metrics.registry.metrics();
  t.regex(text, /^lockstep_agent_policy_refusals_total\{rule="privileged"\} 1$/m);
  t.regex(text, /^lockstep_agent_policy_refusals_total\{rule="feature_flag"\} 1$/m);
  t.regex(text, /^lockstep_agent_events_total\{kind="policy-refused"\} 2$/m);
});

// The refusal is Lockstep's own (no Proxmox call was made), so there is no Proxmox default to cite.
test("a refusal is not replayed to a retry with the same request ID: nothing ran, and the policy may have been widened", (t) => {
  t.false(isReplayedFailure({ code: "PERMISSION_DENIED", metadata: { rule: "privileged" } }));
});

// --- A widened policy ---

// Each of these is root@pam's alone in pve-container src/PVE/LXC.pm check_ct_modify_config_perm
// (privileged: src/PVE/API2/LXC.pm create_vm); a policy may hand them to Lockstep's callers.
test("a policy the node owner widened allows each request the default refuses", (t) => {
  const n = node(t, WIDE);
  const op = testOperation("r1");
  for (const ask of [
    updateAsk(change({ unprivileged: "0" })),
    updateAsk(change({ features: "nesting=1,keyctl=1,fuse=1" })),
    updateAsk(change({ mp0: "/srv/host,mp=/data", dev0: "/dev/fuse" })),
    updateAsk(change({}, { "lxc.apparmor.profile": "unconfined" })),
    cloneSourceAsk({
      values: parse("features: keyctl=1\nmp0: /srv/host,mp=/data\ndev0: /dev/fuse\n"),
      description: "",
    }),
  ])
    t.notThrows(() => requirePolicy(n.ctx, 101, ask, op));
});

test("a privileged create and a clone of an allowed source reach pct under the widened policy", async (t) => {
  const n = node(t, WIDE);
  n.writeConfig(200, UNPRIVILEGED);
  // The fake pct answers 0 and writes nothing, so what follows pct fails; past the policy is the point.
  await createContainer(
    n.ctx,
    { ...SPEC, unprivileged: false, features: "keyctl=1" },
    OWNER,
    testOperation("r1"),
  ).catch(() => undefined);
  t.deepEqual(n.calls[0]?.slice(0, 2), ["create", "150"]);
  await cloneContainer(n.ctx, CLONE, OWNER, testOperation("r2")).catch(() => undefined);
  t.true(n.calls.some((call) => call[0] === "clone" && call[1] === "200"));
});

function parse(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]),
  );
}
