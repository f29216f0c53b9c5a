// /etc/pve/.members as pmxcfs writes it: pve-cluster src/pmxcfs/status.c
// cfs_create_memberlist_msg (nodename and version only without corosync; cluster and nodelist
// with it), decoded as PVE::Cluster get_members decodes it.
import { writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { dotMembers, type CorosyncConf } from "@lockstep/sim";
import { readClusterMembership } from "../../src/node/cluster-membership.js";
import { fakeClusterFs } from "./fake-cluster-fs.js";

function pveWith(t: TestScope, members: string | null): string {
  const pve = scratchDir(t, "members");
  if (members !== null) writeFileSync(path.join(pve, ".members"), members);
  return pve;
}

const LAB: CorosyncConf = {
  clusterName: "lab",
  configVersion: 3,
  nodes: [2, 1, 3].map((id) => ({ name: `pve${id}`, nodeid: id, quorumVotes: 1, ring0Addr: `10.0.0.${id}` })),
};

test("a clustered node reports its own name, its cluster's name and every member, sorted", async (t) => {
  const pve = pveWith(t, dotMembers(LAB, "pve2"));
  t.deepEqual(await readClusterMembership(fakeClusterFs(), pve, "pve2"), {
    nodename: "pve2",
    name: "lab",
    members: ["pve1", "pve2", "pve3"],
  });
});

test("a node without corosync is a cluster of its own: no name, itself the only member", async (t) => {
  const pve = pveWith(t, dotMembers(null, "pve1"));
  t.deepEqual(await readClusterMembership(fakeClusterFs(), pve, "pve1"), {
    nodename: "pve1",
    name: "",
    members: ["pve1"],
  });
});

test("a .members that is not pmxcfs's JSON is an error, never taken for no cluster", async (t) => {
  await t.throwsAsync(readClusterMembership(fakeClusterFs(), pveWith(t, '{"nodename": '), "pve1"), {
    message: /is not JSON/,
  });
  await t.throwsAsync(readClusterMembership(fakeClusterFs(), pveWith(t, '{"cluster": {"name": "lab"}}'), "pve1"), {
    message: /names no cluster and node list/,
  });
});

test("a missing .members on a trusted /etc/pve is an error", async (t) => {
  await t.throwsAsync(readClusterMembership(fakeClusterFs(), pveWith(t, null), "pve1"), { message: /is missing/ });
});
