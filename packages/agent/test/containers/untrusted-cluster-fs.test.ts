import test from "ava";
import { getContainer, listContainers } from "../../src/containers/container-reader.js";
import { destroyContainer } from "../../src/containers/destroy-container.js";
import { ClusterNoQuorumError, HypervisorUnresponsiveError, NotFoundError } from "../../src/errors.js";
import { fakeNode, testOperation } from "./fake-node.js";

// audit D36/D37: with pmxcfs stopped /etc/pve is an empty directory, without quorum it is
// read-only; a config missing from either is unknown, never gone (pve-cluster
// src/PVE/Cluster.pm check_cfs_is_mounted, check_cfs_quorum).

const OWNER = "lockstep-test";
const NO_CONFIG = { exitCode: 2, stderr: "Configuration file 'nodes/pve1/lxc/101.conf' does not exist\n" };

test("a destroy while /etc/pve is not mounted is HYPERVISOR_UNRESPONSIVE, never already gone, and runs no pct", async (t) => {
  const { ctx, calls, clusterFs } = fakeNode(t, () => ({}));
  clusterFs.state = "not-mounted";
  await t.throwsAsync(destroyContainer(ctx, 101, { force: false, purge: false }, testOperation("r1"), OWNER), {
    instanceOf: HypervisorUnresponsiveError,
    message: /not-mounted/,
  });
  t.deepEqual(calls, []);
});

test("a destroy without quorum is CLUSTER_NO_QUORUM, never already gone", async (t) => {
  const { ctx, clusterFs } = fakeNode(t, () => ({}));
  clusterFs.state = "no-quorum";
  const err = await t.throwsAsync(
    destroyContainer(ctx, 101, { force: false, purge: false }, testOperation("r1"), OWNER),
    {
      instanceOf: ClusterNoQuorumError,
    },
  );
  t.is(err?.code, "CLUSTER_NO_QUORUM");
});

test("a destroy of a config missing from a mounted, quorate /etc/pve is already gone", async (t) => {
  const { ctx } = fakeNode(t, () => ({}));
  t.deepEqual(await destroyContainer(ctx, 101, { force: false, purge: false }, testOperation("r1"), OWNER), {
    alreadyGone: true,
  });
});

test("a container pct says does not exist is NOT_FOUND only while /etc/pve is trusted", async (t) => {
  const { ctx, clusterFs } = fakeNode(t, () => NO_CONFIG);
  await t.throwsAsync(getContainer(ctx, 101), { instanceOf: NotFoundError });
  clusterFs.state = "unresponsive";
  await t.throwsAsync(getContainer(ctx, 101), { instanceOf: HypervisorUnresponsiveError });
});

test("the node's containers are not listed while /etc/pve is not mounted: no empty list is taken as truth", async (t) => {
  const { ctx, calls, clusterFs } = fakeNode(t, () => ({ stdout: "VMID       Status     Lock         Name\n" }));
  clusterFs.state = "not-mounted";
  await t.throwsAsync(listContainers(ctx, false), { instanceOf: HypervisorUnresponsiveError });
  t.deepEqual(calls, []);
});
