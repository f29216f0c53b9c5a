import test from "ava";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { writeFaults } from "@lockstep/sim";
import { agentOnSim, configText, startAgentOnSim, TEMPLATE } from "./agent-harness.js";

test("pruning keeps exactly keep_last of Lockstep's snapshots and every other one", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--tags", "lockstep-p1"]);
  await agent.pct(["snapshot", "101", "operator-keep"]);
  for (let i = 1; i <= 5; i++)
    await agent.client.createSnapshot({
      requestId: `snap-${i}-x`,
      vmid: 101,
      name: `lockstep-${i}`,
      ownershipTag: "lockstep-p1",
    });
  const res = await agent.client.pruneSnapshots({
    requestId: "prune-1x",
    vmid: 101,
    keepLast: 3,
    prefix: "lockstep",
    ownershipTag: "lockstep-p1",
  });
  t.deepEqual(res.deleted, ["lockstep-1", "lockstep-2"]);
  const { snapshots } = await agent.client.listSnapshots({ vmid: 101 });
  t.deepEqual(
    snapshots.map((s) => s.name),
    ["operator-keep", "lockstep-3", "lockstep-4", "lockstep-5"],
  );
});

test("a failed delete is reported, the rest go on, and its leftover lock is cleared", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--tags", "lockstep-p2"]);
  for (let i = 1; i <= 4; i++)
    await agent.client.createSnapshot({
      requestId: `snap-f${i}-x`,
      vmid: 101,
      name: `lockstep-${i}`,
      ownershipTag: "lockstep-p2",
    });
  writeFaults(agent.root, [
    { command: "delsnapshot", times: 1, action: "fail", message: "zfs error: snapshot has dependent clones" },
  ]);
  const res = await agent.client.pruneSnapshots({
    requestId: "prune-2x",
    vmid: 101,
    keepLast: 1,
    prefix: "lockstep",
    ownershipTag: "lockstep-p2",
  });
  t.deepEqual(
    res.failed.map((f) => f.name),
    ["lockstep-1"],
  );
  t.regex(res.failed[0]!.message, /dependent clones/);
  t.deepEqual(res.deleted, ["lockstep-2", "lockstep-3"]);
  t.true(res.staleLockCleared);
  t.notRegex(configText(agent, 101), /^lock:/m);
});

// pve-guest-common src/PVE/AbstractConfig.pm __snapshot_prepare writes the section with
// `snapstate: prepare` under `lock: snapshot`; a worker killed before __snapshot_commit leaves both.
function leaveUnfinishedSnapshot(agent: Awaited<ReturnType<typeof startAgentOnSim>>, vmid: number, name: string): void {
  const file = path.join(agent.root, "etc/pve/lxc", `${vmid}.conf`);
  const text = readFileSync(file, "utf8");
  const [main, ...rest] = text.split(/\n(?=\[)/);
  const sections = [
    `${main!.trimEnd()}\nlock: snapshot\n`,
    ...rest.map((s) => `${s.trimEnd()}\n`),
    `[${name}]\narch: amd64\nhostname: web-1\nsnapstate: prepare\nsnaptime: 1700000000\n`,
  ];
  writeFileSync(file, sections.join("\n"));
}

test("a snapshot that never finished is not listed, not counted by pruning, and is removed", async (t) => {
  const agent = await agentOnSim(t);
  await agent.client.createContainer({
    requestId: "snap-ct-u1",
    vmid: 101,
    template: TEMPLATE,
    hostname: "web-1",
    unprivileged: true,
    ownershipTag: "lockstep-u1",
  });
  await agent.client.createSnapshot({
    requestId: "snap-u1-x",
    vmid: 101,
    name: "lockstep-1",
    ownershipTag: "lockstep-u1",
  });
  leaveUnfinishedSnapshot(agent, 101, "lockstep-2");
  t.deepEqual(
    (await agent.client.listSnapshots({ vmid: 101 })).snapshots.map((s) => s.name),
    ["lockstep-1"],
  );
  const res = await agent.client.pruneSnapshots({
    requestId: "prune-u1x",
    vmid: 101,
    keepLast: 1,
    prefix: "lockstep",
    ownershipTag: "lockstep-u1",
  });
  t.deepEqual(res.kept, ["lockstep-1"]);
  t.deepEqual(res.deleted, ["lockstep-2"]);
  t.notRegex(configText(agent, 101), /^\[lockstep-2\]|^snapstate:|^lock:/m);
});

test("CreateSnapshot of a name left unfinished removes the half-made one and takes a real snapshot", async (t) => {
  const agent = await agentOnSim(t);
  await agent.client.createContainer({
    requestId: "snap-ct-u2",
    vmid: 101,
    template: TEMPLATE,
    hostname: "web-1",
    unprivileged: true,
    ownershipTag: "lockstep-u2",
  });
  leaveUnfinishedSnapshot(agent, 101, "lockstep-1");
  const made = await agent.client.createSnapshot({
    requestId: "snap-u2-x",
    vmid: 101,
    name: "lockstep-1",
    ownershipTag: "lockstep-u2",
  });
  t.is(made.snapshot?.name, "lockstep-1");
  const text = configText(agent, 101);
  t.regex(text, /^\[lockstep-1\]$/m);
  t.notRegex(text, /^snapstate:|^lock:/m);
});
