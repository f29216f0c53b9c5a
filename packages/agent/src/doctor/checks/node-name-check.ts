import path from "node:path";
import { readClusterMembership } from "../../node/cluster-membership.js";
import { fail, pass, type DoctorCheck } from "../check.js";

/**
 * The agent's node name is the one pmxcfs knows this node by (`.members` nodename): the API
 * registers the node under it and the agent reads `nodes/<node>/` under it. Clustered, the
 * node is among the members.
 */
export const nodeNameCheck: DoctorCheck = {
  id: "node",
  title: "node name and cluster members",
  async run(ctx) {
    const node = ctx.config.node;
    const members = await readClusterMembership(ctx.clusterFs, ctx.paths.pveDir, node);
    const file = path.join(ctx.paths.pveDir, ".members");
    if (members.nodename !== node)
      return fail(
        `the agent is node '${node}', but pmxcfs knows this node as '${members.nodename}' (${file}): set node in the agent's configuration`,
      );
    if (!members.name) return pass(`${node}, not clustered (a cluster of its own)`);
    if (!members.members.includes(node))
      return fail(`${node} is not among the members of cluster '${members.name}' (${members.members.join(", ")})`);
    return pass(`${node}, member of cluster '${members.name}': ${members.members.join(", ")}`);
  },
};
