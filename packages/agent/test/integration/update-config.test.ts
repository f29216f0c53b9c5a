import { statSync } from "node:fs";
import path from "node:path";
import test from "ava";
import type { TestScope } from "@lockstep/shared";
import { agentOnSim, agentWithHeldLock, configText, OWNED, OWNER, policyEnv, TEMPLATE } from "./agent-harness.js";

const PROFILE = { "lxc.apparmor.profile": "unconfined" };

/**
 * Raw lxc.* keys cannot be set through Proxmox's API at all (pve-container src/PVE/LXC/Config.pm
 * parse_pct_config keeps them apart), so the default node policy names no AppArmor profile:
 * these agents' owner allows `unconfined`.
 */
const allowsUnconfined = (t: TestScope) => policyEnv(t, { apparmor_profiles: ["unconfined"] });

test("a raw lxc key is written once into the main section; setting it again writes nothing", async (t) => {
  const agent = await agentOnSim(t, allowsUnconfined(t));
  await agent.pct(["create", "101", TEMPLATE, ...OWNED, "--hostname", "web-1"]);
  await agent.pct(["snapshot", "101", "base"]);
  const before = configText(agent, 101);
  const first = await agent.client.updateConfig({
    requestId: "lxc-req-1",
    vmid: 101,
    ownershipTag: OWNER,
    lxc: PROFILE,
  });
  t.deepEqual(first.changedKeys, ["lxc.apparmor.profile"]);
  const text = configText(agent, 101);
  t.is(
    text,
    before.replace("\n\n[base]", "\nlxc.apparmor.profile: unconfined\n\n[base]"),
    "the rest of the file is kept byte for byte",
  );
  t.regex((await agent.pct(["config", "101"])).stdout, /\nlxc\.apparmor\.profile: unconfined\n$/);
  const file = path.join(agent.root, "etc/pve/lxc/101.conf");
  const written = statSync(file);
  const second = await agent.client.updateConfig({
    requestId: "lxc-req-2",
    vmid: 101,
    ownershipTag: OWNER,
    lxc: PROFILE,
  });
  t.deepEqual(second.changedKeys, []);
  const after = statSync(file);
  t.is(after.ino, written.ino, "no new file was renamed into place");
  t.is(after.mtimeMs, written.mtimeMs);
  const { container } = await agent.client.getContainer({ vmid: 101 });
  t.is(container?.config["lxc.apparmor.profile"], "unconfined");
});

test("a raw lxc key is deleted through delete", async (t) => {
  const agent = await agentOnSim(t, allowsUnconfined(t));
  await agent.pct(["create", "101", TEMPLATE, ...OWNED]);
  const before = configText(agent, 101);
  await agent.client.updateConfig({
    requestId: "lxc-req-3",
    vmid: 101,
    ownershipTag: OWNER,
    lxc: PROFILE,
    set: { memory: "1024" },
  });
  const removed = await agent.client.updateConfig({
    requestId: "lxc-req-4",
    vmid: 101,
    ownershipTag: OWNER,
    delete: ["lxc.apparmor.profile"],
  });
  t.deepEqual(removed.changedKeys, ["lxc.apparmor.profile"]);
  t.is(configText(agent, 101), before.replace("memory: 512", "memory: 1024"));
});

test("an lxc key outside the allow-list, or a bad value, is INVALID_ARGUMENT naming the key", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, ...OWNED]);
  const before = configText(agent, 101);
  const unknown = await t.throwsAsync(
    agent.client.updateConfig({
      requestId: "lxc-req-5",
      vmid: 101,
      ownershipTag: OWNER,
      lxc: { "lxc.cgroup2.devices.allow": "a" },
    }),
  );
  t.is((unknown as { code?: string }).code, "INVALID_ARGUMENT");
  t.regex(unknown!.message, /lxc\.cgroup2\.devices\.allow/);
  const badValue = await t.throwsAsync(
    agent.client.updateConfig({
      requestId: "lxc-req-6",
      vmid: 101,
      ownershipTag: OWNER,
      lxc: { "lxc.apparmor.profile": "un confined" },
    }),
  );
  t.is((badValue as { code?: string }).code, "INVALID_ARGUMENT");
  t.is(configText(agent, 101), before);
});

test("a raw lxc key waits for the config lock and gives up with LOCK_HELD", async (t) => {
  const { agent } = await agentWithHeldLock(t, 101, allowsUnconfined(t));
  const before = configText(agent, 101);
  const err = await t.throwsAsync(
    agent.client.updateConfig({ requestId: "lxc-req-7", vmid: 101, ownershipTag: OWNER, lxc: PROFILE }),
  );
  t.is((err as { code?: string }).code, "LOCK_HELD");
  t.is(configText(agent, 101), before);
});
