import test from "ava";
import { checkSpec, DETAIL_REASON, LockstepError, systemClock, type ResolvedSpec } from "../../src/index.js";
import * as agentV1 from "../../src/gen/lockstep/agent/v1/agent.js";
import { PipelineContext, type NodeAgentPort } from "../../src/pipeline/pipeline-context.js";
import { readyStep } from "../../src/pipeline/steps/ready-step.js";

function spec(): ResolvedSpec {
  const checked = checkSpec({
    hostname: "web-1",
    source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
  });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

/** A container with `lock` (running unless `status` says otherwise), whose lock report says `report`. */
function contextWith(
  lock: string,
  report: Partial<agentV1.LockReport> = {},
  status = agentV1.ContainerStatus.RUNNING,
): PipelineContext {
  const agent = {
    getContainer: async () => ({
      container: {
        vmid: 101,
        name: "web-1",
        status,
        lock,
        tags: [],
        description: "",
        config: {},
      },
      snapshots: [],
    }),
    inspectLock: async () => ({
      vmid: 101,
      configLock: lock,
      verdict: agentV1.LockVerdict.FREE,
      ownerKind: agentV1.LockOwnerKind.NONE,
      owner: "",
      ...report,
    }),
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

test("a running container without a lock is ready", async (t) => {
  t.like(await readyStep.run(contextWith("")), { status: "succeeded", changed: false });
});

// pve-manager PVE/VZDump/LXC.pm lock_vm: a backup holds `lock: backup` for as long as its
// vzdump task archives the guest; it is someone else's operation, and it ends the lock itself.
test("a running container whose lock belongs to a live backup task is ready, and the detail says whose lock it is", async (t) => {
  const outcome = await readyStep.run(
    contextWith("backup", {
      verdict: agentV1.LockVerdict.HELD,
      ownerKind: agentV1.LockOwnerKind.TASK,
      owner: "task vzdump UPID:pve1:...",
    }),
  );
  t.is(outcome.status, "succeeded");
  t.regex(outcome.detail, /lock 'backup' belongs to an operation in progress .*vzdump/);
});

test("a running container whose lock nothing owns yet is LOCK_HELD, which the job retries", async (t) => {
  const err = await t.throwsAsync(
    readyStep.run(
      contextWith("snapshot", {
        verdict: agentV1.LockVerdict.HELD,
        ownerKind: agentV1.LockOwnerKind.GRACE,
        owner: "no owner for 1 s of the 30 s grace period",
      }),
    ),
    { instanceOf: LockstepError },
  );
  t.is(err?.code, "LOCK_HELD");
});

test("a running container with a crash's stale lock is LOCK_HELD, never ready", async (t) => {
  const err = await t.throwsAsync(
    readyStep.run(
      contextWith("snapshot", { verdict: agentV1.LockVerdict.STALE, ownerKind: agentV1.LockOwnerKind.NONE }),
    ),
    { instanceOf: LockstepError },
  );
  t.is(err?.code, "LOCK_HELD");
  t.regex(err?.message ?? "", /still locked \(snapshot\)/);
});

// pve-ha-manager Manager.pm next_state_migrate_relocate: a relocation whose migration failed
// leaves the CT stopped on its own node until the CRM starts it again; the job must be able to
// tell "found stopped" from a verification that failed on a container that stayed as it was.
test("a stopped container is not ready, and the failure says it was found stopped", async (t) => {
  const err = await t.throwsAsync(readyStep.run(contextWith("", {}, agentV1.ContainerStatus.STOPPED)), {
    instanceOf: LockstepError,
  });
  t.is(err?.code, "VERIFICATION_FAILED");
  t.is(err?.metadata.reason, DETAIL_REASON.notRunning);
});
