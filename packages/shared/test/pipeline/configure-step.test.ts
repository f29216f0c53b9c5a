import test from "ava";
import { checkSpec, systemClock, type ResolvedSpec } from "../../src/index.js";
import * as agentV1 from "../../src/gen/lockstep/agent/v1/agent.js";
import { PipelineContext, type NodeAgentPort } from "../../src/pipeline/pipeline-context.js";
import { configureStep } from "../../src/pipeline/steps/configure-step.js";

function spec(): ResolvedSpec {
  const checked = checkSpec({
    hostname: "web-1",
    source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
    security: { nesting: true },
  });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

/** A running container whose UpdateConfig answers `response`. */
function contextWith(response: Partial<agentV1.UpdateConfigResponse>): PipelineContext {
  const agent = {
    getContainer: async () => ({
      container: {
        vmid: 101,
        name: "web-1",
        status: agentV1.ContainerStatus.RUNNING,
        lock: "",
        tags: [],
        description: "",
        config: {},
      },
      snapshots: [],
    }),
    updateConfig: async () => ({ replayed: false, changedKeys: [], pendingKeys: [], ...response }),
  } as unknown as NodeAgentPort;
  return new PipelineContext({
    agent,
    vmid: 101,
    spec: spec(),
    ownershipTag: "lockstep-x",
    requestIdBase: "job-1",
    keepLast: 5,
    history: [],
    attempt: 1,
    clock: systemClock,
  });
}

// pve-container src/PVE/LXC/Config.pm vmconfig_hotplug_pending leaves `features` of a running
// CT in `[pve:pending]`; an earlier attempt may have set it and failed before the restart.
test("a key still pending from an earlier attempt makes the job restart the running container", async (t) => {
  const ctx = contextWith({ pendingKeys: ["features"] });
  const outcome = await configureStep.run(ctx);
  t.false(outcome.changed);
  t.deepEqual([...ctx.restartKeys], ["features"]);
});

test("nothing pending and nothing changed restarts nothing", async (t) => {
  const ctx = contextWith({});
  await configureStep.run(ctx);
  t.deepEqual([...ctx.restartKeys], []);
});
