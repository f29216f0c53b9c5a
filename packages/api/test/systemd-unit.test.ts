import { execFile } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test, { type ExecutionContext } from "ava";
import { scratchDir } from "@lockstep/shared";

const text = readFileSync(fileURLToPath(new URL("../systemd/lockstep-api.service", import.meta.url)), "utf8");
const lines = text.split("\n");

/** Every value of `key=` in the active (uncommented) lines. */
function values(key: string): string[] {
  return lines.filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1));
}

/**
 * The unit in a directory of its own, its ExecStart pointing at a stand-in executable:
 * systemd-analyze wants the program on this machine, and the package installs it (test/packages).
 */
function unitWithStandIn(t: ExecutionContext): string {
  const dir = scratchDir(t, "lockstep-api-unit");
  writeFileSync(path.join(dir, "lockstep-api"), "#!/bin/sh\n");
  chmodSync(path.join(dir, "lockstep-api"), 0o755);
  writeFileSync(
    path.join(dir, "lockstep-api.service"),
    text.replace("ExecStart=/usr/bin/lockstep-api", `ExecStart=${dir}/lockstep-api`),
  );
  return path.join(dir, "lockstep-api.service");
}

test("systemd-analyze verify accepts the API's unit", async (t) => {
  const { stdout, stderr } = await promisify(execFile)("systemd-analyze", ["verify", unitWithStandIn(t)]);
  t.is(`${stdout}${stderr}`.trim(), "");
});

test("systemd-analyze rates the API's sandbox exposure at 2.0 or better (0 is best, 10 worst)", async (t) => {
  const { stdout } = await promisify(execFile)("systemd-analyze", [
    "security",
    "--offline=true",
    "--threshold=20",
    unitWithStandIn(t),
  ]);
  const exposure = /Overall exposure level for \S+: (\d+\.\d+)/.exec(stdout)?.[1];
  t.log(`exposure ${exposure}`);
  t.true(Number(exposure) <= 2, stdout);
});

test("the API runs as a dynamic user without any capability", (t) => {
  t.deepEqual(values("DynamicUser"), ["yes"]);
  t.deepEqual(values("CapabilityBoundingSet"), [""]);
  t.deepEqual(values("User"), []);
});

test("the API's certificates reach it as credentials, and it starts only once they are in place", (t) => {
  const files = [
    "/etc/lockstep/api-tls/ca.crt",
    "/etc/lockstep/api-tls/lockstep-api.crt",
    "/etc/lockstep/api-tls/lockstep-api.key",
  ];
  t.deepEqual(values("ConditionPathExists"), files);
  t.deepEqual(
    values("LoadCredential"),
    files.map((file) => `${path.basename(file)}:${file}`),
  );
  t.true(values("Environment").some((env) => env.includes("LOCKSTEP_API_AGENT_TLS_KEY=%d/lockstep-api.key")));
});

test("its settings come from the package's env file, and a configuration error is not restarted in a loop", (t) => {
  t.deepEqual(values("EnvironmentFile"), ["/etc/lockstep/api.env"]);
  t.deepEqual(values("RestartPreventExitStatus"), ["2"], "lockstep-api exits 2 on a bad setting");
});

test("a crash never writes the API's memory, which holds the TLS key and the database password, to a core file", (t) => {
  t.deepEqual(values("LimitCORE"), ["0"]);
});
