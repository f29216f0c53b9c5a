import test from "ava";
import { isLockContention, pctFailure } from "../../src/pct/pct-failure.js";

const failed = (stderr: string, exitCode = 255) => ({ exitCode, stdout: "", stderr, durationMs: 1 });

test("a missing config is NOT_FOUND", (t) => {
  t.is(
    pctFailure(["start"], failed("Configuration file 'nodes/pve1/lxc/101.conf' does not exist\n"), 101).code,
    "NOT_FOUND",
  );
});

test("someone else's container under the VMID is ALREADY_EXISTS", (t) => {
  const err = pctFailure(["create"], failed("unable to create CT 101 - CT 101 already exists on node 'pve1'\n"), 101);
  t.is(err.code, "ALREADY_EXISTS");
  t.is(err.metadata.node, "pve1");
});

test("a flock timeout and a config lock are lock contention", (t) => {
  t.true(
    isLockContention(
      failed("trying to acquire lock...\ncan't lock file '/run/lock/lxc/pve-config-101.lock' - got timeout\n"),
    ),
  );
  t.true(isLockContention(failed("CT is locked (snapshot-delete)\n")));
  t.false(isLockContention(failed("CT 101 not running\n")));
});

test("check_cfs_quorum's refusal (no quorum) is CLUSTER_NO_QUORUM, which a job retries", (t) => {
  t.is(pctFailure(["create"], failed("cluster not ready - no quorum?\n"), 101).code, "CLUSTER_NO_QUORUM");
});

test("check_cfs_is_mounted's refusal is HYPERVISOR_UNRESPONSIVE", (t) => {
  t.is(
    pctFailure(["start"], failed("pve configuration filesystem (pmxcfs) not mounted\n"), 101).code,
    "HYPERVISOR_UNRESPONSIVE",
  );
});

test("a config write refused by a read-only /etc/pve (file_set_contents: Permission denied) is CLUSTER_NO_QUORUM", (t) => {
  const err = pctFailure(
    ["set"],
    failed("unable to open file '/etc/pve/nodes/pve1/lxc/101.conf.tmp.4242' - Permission denied\n"),
    101,
  );
  t.is(err.code, "CLUSTER_NO_QUORUM");
});

test("Proxmox's parameter errors are INVALID_ARGUMENT", (t) => {
  t.is(
    pctFailure(["create"], failed("400 Parameter verification failed.\nhostname: invalid format\n"), 101).code,
    "INVALID_ARGUMENT",
  );
});

test("anything else is COMMAND_FAILED with the exit status and first line", (t) => {
  const err = pctFailure(["delsnapshot"], failed("zfs error: cannot destroy snapshot: has dependent clones\n"), 101);
  t.is(err.code, "COMMAND_FAILED");
  t.is(err.metadata.exit_code, "255");
  t.regex(err.message, /zfs error/);
});

// pve-container API2/LXC/Snapshot.pm delsnapshot, around GuestHelpers.pm guest_migration_lock.
test("a delsnapshot that could not get the guest migration lock lost to replication: contention, not a failure", (t) => {
  t.true(isLockContention(failed("Failed to obtain guest migration lock - replication running?\n")));
});

test("a QEMU VM under the VMID is ALREADY_EXISTS of a qemu guest (pve-cluster src/PVE/Cluster.pm check_vmid_unused)", (t) => {
  const err = pctFailure(["create"], failed("VM 150 already exists on node 'pve2'\n"), 150);
  t.is(err.code, "ALREADY_EXISTS");
  t.deepEqual([err.metadata.node, err.metadata.guest_type], ["pve2", "qemu"]);
  t.regex(err.message, /^VM 150 already exists/);
});

test("a destroy of an HA-managed CT without purge is FAILED_PRECONDITION (pve-container src/PVE/API2/LXC.pm destroy_vm)", (t) => {
  const err = pctFailure(
    ["destroy"],
    failed("unable to remove CT 101 - used in HA resources and purge parameter not set.\n"),
    101,
  );
  t.is(err.code, "FAILED_PRECONDITION");
  t.is(err.metadata.ha_managed, "true");
});

// pve-common RESTEnvironment.pm tee_worker: a worker killed mid-task sends no control message.
test("a task worker that died without its control message is an unknown outcome, not a command failure", (t) => {
  const err = pctFailure(["create"], failed("got unexpected control message: \n"), 101);
  t.is(err.code, "HYPERVISOR_UNRESPONSIVE");
  t.is(err.metadata.reason, "task-worker-died");
});

test("a pct that could not start because pmxcfs refused its IPC is HYPERVISOR_UNRESPONSIVE: nothing was done (RESTEnvironment.pm setup_default_cli_env)", (t) => {
  const stderr =
    "ipcc_send_rec[1] failed: Connection refused\nipcc_send_rec[2] failed: Connection refused\nipcc_send_rec[3] failed: Connection refused\nUnable to load access control list: Connection refused\n";
  const err = pctFailure(["start"], failed(stderr, 111), 101);
  t.is(err.code, "HYPERVISOR_UNRESPONSIVE");
  t.is(err.metadata.cluster_fs, "not-running");
});

test("a pct whose pmxcfs went away midway (a refused config read, a write with no /etc/pve beneath) is an unknown outcome, HYPERVISOR_UNRESPONSIVE", (t) => {
  for (const stderr of [
    "Connection refused\n",
    "unable to open file '/etc/pve/nodes/pve1/lxc/101.conf.tmp.4242' - No such file or directory\n",
    "unable to open file '/etc/pve/nodes/pve1/lxc/101.conf.tmp.4242' - Transport endpoint is not connected\n",
  ]) {
    const err = pctFailure(["create"], failed(stderr), 101);
    t.is(err.code, "HYPERVISOR_UNRESPONSIVE", stderr);
    t.is(err.metadata.reason, "cluster-fs-lost", stderr);
  }
});
