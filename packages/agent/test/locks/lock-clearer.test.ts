import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { agentOnSim, TEMPLATE } from "../integration/agent-harness.js";

test("lock clear --remove-file refuses a lock file another process has open without a flock, naming it", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const lockFile = path.join(agent.root, "run/lock/lxc/pve-config-101.lock");
  const reader = spawn(
    "python3",
    ["-c", "import sys,time\nf=open(sys.argv[1],'a')\nprint('open',flush=True)\ntime.sleep(60)", lockFile],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  t.teardown(() => reader.kill("SIGKILL"));
  await new Promise<void>((resolve) => reader.stdout.on("data", (d) => String(d).includes("open") && resolve()));
  await t.throwsAsync(agent.client.clearLock({ requestId: "remove-open-file", vmid: 101, removeFile: true }), {
    message: new RegExp(`is open in pid ${reader.pid}`),
  });
  t.true(existsSync(lockFile));
});
