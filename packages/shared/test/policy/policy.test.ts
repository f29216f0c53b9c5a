import test from "ava";
import { checkPolicy, ConfigError, DEFAULT_POLICY, enabledFeatureFlags, parsePolicy } from "../../src/index.js";

// pve-container src/PVE/API2/LXC.pm create_vm: `unprivileged: 0` needs Sys.Modify on /.
test("the default policy refuses a privileged container", (t) => {
  t.deepEqual(
    checkPolicy({ privileged: true }, DEFAULT_POLICY).map((v) => v.rule),
    ["privileged"],
  );
});

// pve-container src/PVE/LXC.pm check_ct_modify_config_perm: "changing feature flags (except
// nesting) is only allowed for root@pam"; mount points that are not volumes and devN likewise.
test("the default policy allows nesting and refuses every other feature flag, host mounts and devices", (t) => {
  t.deepEqual(checkPolicy({ featureFlags: ["nesting"] }, DEFAULT_POLICY), []);
  const refused = checkPolicy(
    { featureFlags: ["nesting", "keyctl", "fuse", "mknod"], hostMounts: ["mp0"], devices: ["dev0"] },
    DEFAULT_POLICY,
  );
  t.deepEqual(
    refused.map((v) => [v.rule, v.subject]),
    [
      ["feature_flag", "featureFlags"],
      ["host_mount", "hostMounts"],
      ["device", "devices"],
    ],
  );
  t.regex(refused[0]!.message, /keyctl, fuse, mknod not allowed/);
});

test("the default policy allows any template, node and storage and no raw AppArmor profile", (t) => {
  t.deepEqual(checkPolicy({ template: "local:vztmpl/x.tar.zst", node: "pve9", storage: "tank" }, DEFAULT_POLICY), []);
  t.deepEqual(
    checkPolicy({ apparmorProfile: "unconfined" }, DEFAULT_POLICY).map((v) => v.rule),
    ["apparmor_profile"],
  );
});

test("a glob's star matches any run of characters and nothing else in it is special", (t) => {
  const policy = parsePolicy({ templates: ["local:vztmpl/debian-*.tar.zst"], nodes: ["pve.1"] }, "test");
  t.deepEqual(checkPolicy({ template: "local:vztmpl/debian-12-standard.tar.zst", node: "pve.1" }, policy), []);
  t.deepEqual(
    checkPolicy({ template: "local:vztmpl/debian-12.tar.xz", node: "pvex1" }, policy).map((v) => v.rule),
    ["template", "node"],
  );
});

test("a ceiling refuses only what is over it", (t) => {
  const policy = parsePolicy({ max: { cores: 4 } }, "test");
  t.deepEqual(checkPolicy({ cores: 4, memoryMb: 1_000_000 }, policy), []);
  t.deepEqual(
    checkPolicy({ cores: 5 }, policy).map((v) => v.message),
    ["5 is over the policy's ceiling of 4"],
  );
});

test("a policy with an unknown key or a wrong value is refused, naming where", (t) => {
  t.throws(() => parsePolicy({ privilegd: true }, "policyFile /etc/x.json"), {
    instanceOf: ConfigError,
    message: "policyFile /etc/x.json: /privilegd Unexpected property",
  });
  t.throws(() => parsePolicy({ feature_flags: ["nesting", "gpu"] }, "p"), {
    instanceOf: ConfigError,
    message: /^p: \/feature_flags\/1 /,
  });
  t.throws(() => parsePolicy({ max: { cores: -1 } }, "p"), { instanceOf: ConfigError, message: /^p: \/max\/cores / });
});

test("the flags a Proxmox features string turns on are those not set to 0", (t) => {
  t.deepEqual(enabledFeatureFlags("nesting=1,keyctl=0,mount=nfs;cifs,fuse=1"), ["nesting", "mount", "fuse"]);
  t.deepEqual(enabledFeatureFlags(""), []);
});
