import test from "ava";
import { writeFaults } from "@lockstep/sim";
import { agentOnSim, OWNER, TEMPLATE } from "./agent-harness.js";
import { scratchDir, type TestScope } from "@lockstep/shared";

const UNIT = Buffer.from(
  "[Unit]\nDescription=app\n[Service]\nExecStart=/usr/bin/app\n[Install]\nWantedBy=multi-user.target\n",
);

async function runningContainer(t: TestScope, env: Record<string, string> = {}) {
  const agent = await agentOnSim(t, env);
  await agent.client.createContainer({
    requestId: "create-files",
    vmid: 101,
    template: TEMPLATE,
    hostname: "app-1",
    unprivileged: true,
    start: true,
    ownershipTag: OWNER,
  });
  return agent;
}

test("a verified push returns only once the file inside has the right hash", async (t) => {
  const agent = await runningContainer(t);
  t.teardown(() => agent.stop());
  // Longer than a loaded machine takes to start the first read-back's pct (800 ms was not, in
  // CI), well inside the 12 read-backs' backoff (about 13 s).
  writeFaults(agent.root, [{ command: "push", action: "delay-visibility", ms: 4000 }]);
  const res = await agent.client.pushFile({
    requestId: "push-delayed",
    vmid: 101,
    path: "/etc/app/app.conf",
    content: Buffer.from("port=80\n"),
    ownershipTag: OWNER,
  });
  t.true(res.verifyAttempts > 1, `took ${res.verifyAttempts} read-backs`);
  t.is((await agent.pct(["exec", "101", "--", "cat", "/etc/app/app.conf"])).stdout, "port=80\n");
});

test("a push whose file never appears fails clearly", async (t) => {
  const agent = await runningContainer(t, { LOCKSTEP_AGENT_VERIFY_ATTEMPTS: "3" });
  t.teardown(() => agent.stop());
  writeFaults(agent.root, [{ command: "push", action: "delay-visibility", ms: 60_000 }]);
  const err = await t.throwsAsync(
    agent.client.pushFile({
      requestId: "push-never",
      vmid: 101,
      path: "/etc/never.conf",
      content: Buffer.from("x"),
      ownershipTag: OWNER,
    }),
  );
  t.is((err as { code?: string }).code, "VERIFICATION_FAILED");
  t.regex(err!.message, /never matched what was pushed.*after 3 read-backs/);
});

// pve-container src/PVE/CLI/pct.pm: push is not among the `$upid_exit` commands, so pct exits 0
// even when its push_file worker died (pve-common RESTEnvironment.pm tee_worker: `got unexpected
// control message`, then TASK ERROR in the task log).
test("a push whose task worker died is an unknown outcome at once, not read back for nothing, and its retry pushes again", async (t) => {
  const agent = await runningContainer(t);
  t.teardown(() => agent.stop());
  writeFaults(agent.root, [{ command: "push", action: "crash", times: 1 }]);
  const request = {
    requestId: "push-crashed",
    vmid: 101,
    path: "/etc/app/app.conf",
    content: Buffer.from("port=80\n"),
    ownershipTag: OWNER,
  };
  const err = await t.throwsAsync(agent.client.pushFile(request));
  t.is((err as { code?: string }).code, "HYPERVISOR_UNRESPONSIVE");
  t.regex(err!.message, /exited 0, but its task ended/);
  const res = await agent.client.pushFile(request);
  t.true(res.changed);
  t.is((await agent.pct(["exec", "101", "--", "cat", "/etc/app/app.conf"])).stdout, "port=80\n");
});

test("a plain push then daemon-reload loses the race that EnsureService wins", async (t) => {
  const agent = await runningContainer(t);
  t.teardown(() => agent.stop());
  writeFaults(agent.root, [{ command: "push", action: "delay-visibility", ms: 4000 }]);
  // The naive way: pct push, daemon-reload, enable.
  const { writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const local = join(scratchDir(t, "unit"), "naive.service");
  writeFileSync(local, UNIT);
  await agent.pct(["push", "101", local, "/etc/systemd/system/naive.service"]);
  await agent.pct(["exec", "101", "--", "systemctl", "daemon-reload"]);
  const naive = await agent.pct(["exec", "101", "--", "systemctl", "enable", "--now", "naive.service"]);
  t.not(naive.code, 0, "the naive sequence fails");
  // Lockstep's way, with the same fault.
  const res = await agent.client.ensureService({
    requestId: "svc-app-1",
    vmid: 101,
    unit: "app.service",
    unitContent: UNIT,
    enable: true,
    start: true,
    ownershipTag: OWNER,
  });
  t.true(res.enabled && res.active);
  t.is((await agent.pct(["exec", "101", "--", "systemctl", "is-active", "app.service"])).stdout, "active\n");
});

test("paths that are relative, unnormalized or hold .. are refused", async (t) => {
  const agent = await runningContainer(t);
  t.teardown(() => agent.stop());
  for (const path of ["etc/x", "/etc/../x", "/etc//x", "/etc/x\0y"]) {
    const err = await t.throwsAsync(
      agent.client.pushFile({
        requestId: `bad-path-${Buffer.from(path).toString("hex")}`,
        vmid: 101,
        path,
        content: Buffer.from("x"),
        ownershipTag: OWNER,
      }),
    );
    t.is((err as { code?: string }).code, "INVALID_ARGUMENT", path);
  }
});
