import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";

const unit = fileURLToPath(new URL("../systemd/lockstep-agent.service", import.meta.url));

test("systemd-analyze verify accepts the agent's unit", async (t) => {
  const { stdout, stderr } = await promisify(execFile)("systemd-analyze", ["verify", unit]);
  t.is(`${stdout}${stderr}`.trim(), "");
});

test("the unit never sets options that break Node or pct", (t) => {
  const active = readFileSync(unit, "utf8").split("\n").filter((line) => !line.startsWith("#"));
  for (const option of ["MemoryDenyWriteExecute", "ProtectSystem", "PrivateTmp", "PrivateDevices", "NoNewPrivileges", "RestrictNamespaces"]) {
    t.false(active.some((line) => line.startsWith(`${option}=`)), `${option} is not set`);
  }
  t.true(active.includes("KillMode=process"), "a restart of the agent never kills a running pct");
});
