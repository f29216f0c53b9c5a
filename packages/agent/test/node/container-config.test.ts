import test from "ava";
import {
  effectiveValue,
  isPending,
  parseContainerConfig,
  parsePendingDelete,
  unparsedLines,
} from "../../src/node/container-config.js";

// A running CT after `pct set 101 --features nesting=1 --delete mp0 --cores 2`, as
// pve-container src/PVE/LXC/Config.pm write_pct_config lays it out: main keys, then
// `[pve:pending]` (cores was hot-applied: LXC_FASTPLUG_OPTIONS), then the snapshots.
const RUNNING_WITH_PENDING = `#web%20server
arch: amd64
cores: 2
features: keyctl=1
hostname: web
memory: 512
mp0: local-lvm:vm-101-disk-1,mp=/data
parent: before-upgrade
rootfs: local-lvm:vm-101-disk-0,size=8G

[pve:pending]
delete: !mp0
features: nesting=1

[before-upgrade]
arch: amd64
cores: 1
hostname: web
snaptime: 1700000000
`;

test("[pve:pending] is the pending section, never a snapshot (Config.pm parse_pct_config)", (t) => {
  const config = parseContainerConfig(RUNNING_WITH_PENDING);
  t.deepEqual([...config.snapshots.keys()], ["before-upgrade"]);
  t.deepEqual(config.pending?.values, { features: "nesting=1" });
});

test("the main section is what runs now, untouched by pending values", (t) => {
  const config = parseContainerConfig(RUNNING_WITH_PENDING);
  t.is(config.main.values.features, "keyctl=1");
  t.is(config.main.description, "web server");
});

test("delete: in the pending section lists keys pending deletion, the force mark dropped", (t) => {
  const config = parseContainerConfig(RUNNING_WITH_PENDING);
  t.deepEqual([...(config.pending?.deletions ?? [])], ["mp0"]);
  t.false("delete" in (config.pending?.values ?? {}));
});

test("pending deletions split on commas, semicolons and spaces (AbstractConfig.pm parse_pending_delete)", (t) => {
  t.deepEqual(
    [...parsePendingDelete("mp0,!swap; nameserver  searchdomain")],
    ["mp0", "swap", "nameserver", "searchdomain"],
  );
});

test("the pending header is matched in any case, as Proxmox's /i does", (t) => {
  t.deepEqual(parseContainerConfig("memory: 512\n[PVE:Pending]\nmemory: 1024\n").pending?.values, { memory: "1024" });
});

test("a config without a pending section has none", (t) => {
  t.is(parseContainerConfig("memory: 512\n\n[snap1]\nmemory: 256\n").pending, null);
});

test("a bracketed line that is no snapshot name starts no section", (t) => {
  const config = parseContainerConfig("memory: 512\n[not a snapshot]\nswap: 0\n");
  t.is(config.snapshots.size, 0);
  t.deepEqual(config.main.values, { memory: "512", swap: "0" });
});

test("the value at the next start is the pending one where there is one", (t) => {
  const config = parseContainerConfig(RUNNING_WITH_PENDING);
  t.is(effectiveValue(config, "features"), "nesting=1");
  t.is(effectiveValue(config, "memory"), "512");
});

test("a key pending deletion has no value at the next start", (t) => {
  t.is(effectiveValue(parseContainerConfig(RUNNING_WITH_PENDING), "mp0"), undefined);
});

test("a pending value wins over a pending deletion of the same key (Config.pm vmconfig_apply_pending applies deletions first)", (t) => {
  t.is(effectiveValue(parseContainerConfig("swap: 0\n[pve:pending]\ndelete: swap\nswap: 256\n"), "swap"), "256");
});

test("keys with a pending value or deletion are pending; others are not", (t) => {
  const config = parseContainerConfig(RUNNING_WITH_PENDING);
  t.true(isPending(config, "features"));
  t.true(isPending(config, "mp0"));
  t.false(isPending(config, "memory"));
});

test("unparsedLines finds the lines the parser skips: an unknown section and a line that is no key: value", (t) => {
  const text =
    "arch: amd64\n#web%20server\n\n[pve:snapshots]\nhostname: web-1\nthis is not a property\n[pve:pending]\nmemory: 1024\n[before-upgrade]\nlxc.apparmor.profile: unconfined\n";
  t.deepEqual(unparsedLines(text), [
    { line: 4, text: "[pve:snapshots]", unknownSection: true },
    { line: 6, text: "this is not a property", unknownSection: false },
  ]);
});

test("unparsedLines finds nothing in a config Proxmox wrote", (t) => {
  t.deepEqual(
    unparsedLines(
      "#lockstep-owner=web\narch: amd64\nhostname: web-1\nrootfs: local-lvm:vm-101-disk-0,size=8G\n\n[pve:pending]\ndelete: swap\n\n[base]\nsnaptime: 1700000000\n",
    ),
    [],
  );
});
