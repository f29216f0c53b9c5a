// The Debian packages as an administrator gets them: built by scripts/package.sh, checked by
// lintian, built again to the same bytes, installed into minimal Debian 12 and 13 roots where
// the agent serves a simulated node to the node CLI over mutual TLS, then removed and purged;
// and the API run on its bundled runtime against MariaDB.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import test, { type ExecutionContext } from "ava";
import { logEntry, scratchDir } from "@lockstep/shared";
import { createTestDatabase } from "../../packages/api/test/support/test-database.js";
import { cachedRoot, fileList, runInRoot, unpackRoot, type Suite } from "./support/debian-root.js";
import { buildPackages, releaseVersion, REPO, type BuiltPackages } from "./support/package-build.js";

const ROOTS = path.join(REPO, ".local/package/roots");
// Installing needs root (chroot, mounts); CI runs as root, and must never skip this.
const asRoot = process.getuid?.() === 0 || process.env.CI === "true" ? test.serial : test.serial.skip;

let work = "";
let built: BuiltPackages;
let failed = false;

test.before(async (t) => {
  t.timeout(20 * 60_000);
  work = mkdtempSync(path.join(os.tmpdir(), "lockstep-packages-test-"));
  built = await buildPackages(path.join(work, "first"));
  t.log(`scripts/package.sh took ${(built.ms / 1000).toFixed(1)} s`);
});

test.afterEach.always((t) => {
  if (!t.passed) failed = true;
});

test.after.always((t) => {
  if (failed) t.log(`kept ${work}`);
  else if (work) rmSync(work, { recursive: true, force: true });
});

test.serial("lintian finds no error or warning in either package", async (t) => {
  t.timeout(10 * 60_000);
  // lintian leaves its caches (mldbm-elf-*) in TMPDIR: here, a directory the test removes.
  const tmp = scratchDir(t, "lintian-tmp");
  const result = await promisify(execFile)("lintian", ["--fail-on", "error,warning", built.agent, built.api], {
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, TMPDIR: tmp },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}` }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      output: `${err.stdout}${err.stderr}`,
    }),
  );
  t.log(result.output.trim() || "lintian: nothing to report");
  t.is(result.code, 0, result.output);
});

test.serial("building twice from the same commit gives byte-identical packages", async (t) => {
  t.timeout(20 * 60_000);
  const again = await buildPackages(path.join(work, "second"));
  t.log(`the second build took ${(again.ms / 1000).toFixed(1)} s`);
  for (const [first, second] of [
    [built.agent, again.agent],
    [built.api, again.api],
  ] as const) {
    t.is(path.basename(second), path.basename(first));
    if (sha256(second) !== sha256(first))
      t.fail(
        `${path.basename(first)} differs between two builds: ${(await differingFiles(first, second, path.join(work, "differ"))).join(", ") || "in its archive members only"}`,
      );
  }
});

/**
 * What purge may leave that is not the packages': apt's and dpkg's own caches, lists and logs,
 * and the backups the shadow suite keeps of the files useradd and userdel edit (the
 * lockstep-agent user itself is checked gone).
 */
const APT_AND_DPKG_OWN = [
  "etc/passwd-",
  "etc/group-",
  "etc/shadow-",
  "etc/gshadow-",
  "var/cache/apt",
  "var/cache/debconf",
  "var/lib/apt",
  "var/log",
  "var/lib/dpkg/status-old",
  "var/lib/dpkg/available-old",
  "var/lib/dpkg/diversions-old",
  "var/lib/dpkg/statoverride-old",
  "var/lib/dpkg/triggers",
  "var/lib/dpkg/lock",
  "var/lib/dpkg/lock-frontend",
  "var/cache/ldconfig",
];

/** Installs both packages into a fresh `suite` root, runs them there, then removes and purges them. */
async function installedForReal(t: ExecutionContext, suite: Suite): Promise<void> {
  t.timeout(25 * 60_000);
  const started = Date.now();
  const step = (what: string): void => t.log(`${suite}: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const tarball = await cachedRoot(suite, ROOTS);
  const root = path.join(work, suite);
  mkdirSync(root);
  await unpackRoot(tarball, root);
  step("root ready");
  const before = fileList(root, APT_AND_DPKG_OWN);
  const inRoot = async (script: string, env: Record<string, string> = {}): Promise<string> => {
    const result = await runInRoot(root, script, 10 * 60_000, env);
    t.is(result.code, 0, `in the ${suite} root: ${script}\n${result.output}`);
    return result.output;
  };

  mkdirSync(path.join(root, "tmp/debs"));
  copyFileSync(built.agent, path.join(root, "tmp/debs", path.basename(built.agent)));
  copyFileSync(built.api, path.join(root, "tmp/debs", path.basename(built.api)));
  // dpkg -i leaves lockstep-api unconfigured until apt brings openssl, which minbase lacks.
  await inRoot("dpkg -i /tmp/debs/*.deb || true; apt-get update -qq && apt-get -f install -y -qq");
  t.is(
    (await inRoot("dpkg-query -W -f '${Status}\\n' lockstep-agent lockstep-api")).trim(),
    "install ok installed\ninstall ok installed",
  );
  step("installed");

  const version = releaseVersion();
  t.is((await inRoot("lockstep-agent --version")).trim(), version);
  t.is((await inRoot("lockstep-node --version")).trim(), version);
  t.is((await inRoot("lockstep-api --version")).trim(), version);
  const agentUser = (await inRoot("getent passwd lockstep-agent")).trim().split(":");
  t.is(agentUser[6], "/usr/sbin/nologin", "the network side's user is a system user without a login");
  t.is(modeOf(root, "var/lib/lockstep-agent"), 0o700, "the request records are the network side's alone");
  t.is(ownerOf(root, "var/lib/lockstep-agent"), Number(agentUser[2]));
  t.is(modeOf(root, "var/lib/lockstep-executor"), 0o700, "the executor's intents are root's alone");
  t.is(ownerOf(root, "var/lib/lockstep-executor"), 0);
  t.is(modeOf(root, "etc/lockstep/tls"), 0o700);
  t.is(modeOf(root, "etc/lockstep/api-tls"), 0o700);
  t.is(modeOf(root, "etc/lockstep/api.env"), 0o600, "the API's settings hold the database password");
  for (const unit of ["lockstep-agent.service", "lockstep-agent-executor.service", "lockstep-api.service"]) {
    t.regex(
      readlinkSync(path.join(root, "etc/systemd/system/multi-user.target.wants", unit)),
      new RegExp(`^(/usr)?/lib/systemd/system/${unit}$`),
      `${unit} is enabled`,
    );
  }

  const decisions = await inRoot(SYSTEMD_DECISIONS);
  const calls = (label: string): string => decisions.split(`--- ${label}\n`)[1]?.split("--- ")[0] ?? "";
  t.notRegex(calls("unconfigured"), /deb-systemd-invoke/, "not started before the node's certificates are there");
  t.regex(
    calls("configured"),
    /^deb-systemd-invoke start lockstep-agent-executor\.service\ndeb-systemd-invoke start lockstep-agent\.service$/m,
    "both started once they are, the executor first",
  );
  t.regex(
    calls("upgraded"),
    /^deb-systemd-invoke restart lockstep-agent-executor\.service\ndeb-systemd-invoke restart lockstep-agent\.service$/m,
    "both restarted after an upgrade",
  );
  t.regex(
    calls("removed"),
    /^deb-systemd-invoke stop lockstep-agent\.service\ndeb-systemd-invoke stop lockstep-agent-executor\.service$/m,
    "both stopped before their files go, the network side first",
  );
  t.notRegex(calls("upgrading"), /deb-systemd-invoke/, "not stopped for an upgrade");

  const port = await freePort();
  const served = await inRoot(AGENT_SCENARIO, { PORT: String(port) });
  t.regex(served, /--- health\n[\s\S]*pve1/, "the node CLI reached the agent over mutual TLS");
  t.regex(
    between(served, "network side", "health"),
    new RegExp(`^Uid:\\s+${agentUser[2]}\\s[\\s\\S]*^CapEff:\\s+0+$`, "m"),
    "the network side ran as lockstep-agent, without capabilities",
  );
  const listed = JSON.parse(
    served.slice(served.indexOf("--- ct list\n") + "--- ct list\n".length, served.indexOf("--- ct show")),
  ) as unknown;
  t.true(
    JSON.stringify(listed).includes("web-1"),
    `ct list shows the container the simulator made: ${JSON.stringify(listed)}`,
  );
  // The agent reads /etc/pve through its reader process (cluster-fs-reader.cjs).
  t.regex(served, /--- ct show\n[\s\S]*rootfs\s+local-lvm:vm-101-disk-0/, "ct show reads the container's config");
  // The agent finds a lock's holders through /proc in its helper thread (fd-scan-thread.cjs).
  t.regex(
    served,
    /--- lock\n[\s\S]*verdict\s+HELD[\s\S]*holder\s+pid \d+ \[\w\] sleep 60/,
    "lock inspect names the process holding the config lock",
  );
  // Server reflection and its library (a deep import of @grpc/reflection) are in the bundle.
  for (const service of ["lockstep.agent.v1.NodeAgent", "grpc.health.v1.Health"])
    t.true(
      between(served, "describe", "call").includes(`service ${service}\n`),
      `describe lists ${service} through reflection`,
    );
  t.deepEqual(
    JSON.parse(between(served, "call", "doctor")),
    { status: "SERVING" },
    "call reaches the standard health service",
  );
  const doctor = JSON.parse(between(served, "doctor", "end")) as {
    ok: boolean;
    checks: { id: string; status: string; seen: string }[];
  };
  // The packaged config names the key as the unit's credential does, and the simulator's node tools are in the bundle.
  t.deepEqual(
    doctor.checks.filter((c) => c.status !== "pass").map((c) => `${c.id}: ${c.seen}`),
    [],
    "the bundled doctor passes every check with the packaged config",
  );
  t.true(doctor.ok);
  step("the agent served the node CLI");

  await inRoot("apt-get remove -y -qq lockstep-agent lockstep-api");
  t.is(
    (await inRoot("dpkg-query -W -f '${Status}\\n' lockstep-agent lockstep-api")).trim(),
    "deinstall ok config-files\ndeinstall ok config-files",
  );
  for (const kept of [
    "etc/lockstep/agent.json",
    "etc/lockstep/api.env",
    "etc/lockstep/tls/node.key",
    "var/lib/lockstep-agent",
    "var/lib/lockstep-executor",
  ])
    t.true(exists(root, kept), `remove keeps ${kept}`);
  t.true(readdirCount(root, "var/lib/lockstep-agent") > 0, "remove keeps the request store the agent laid out");
  for (const gone of [
    "usr/bin/lockstep-agent",
    "usr/lib/lockstep",
    "usr/lib/lockstep-api",
    "usr/lib/systemd/system/lockstep-agent.service",
    "usr/lib/systemd/system/lockstep-agent-executor.service",
  ])
    t.false(exists(root, gone), `remove takes ${gone}`);
  step("removed");

  await inRoot(
    "apt-get purge -y -qq --autoremove lockstep-agent lockstep-api && rm -rf /tmp/debs /tmp/n1 /tmp/agent.log /tmp/held /root/pki",
  );
  t.is(
    (await runInRoot(root, "dpkg-query -W lockstep-agent lockstep-api", 60_000)).code,
    1,
    "dpkg no longer knows the packages",
  );
  t.not((await runInRoot(root, "getent passwd lockstep-agent", 60_000)).code, 0, "purge takes the user");
  t.deepEqual(fileList(root, APT_AND_DPKG_OWN), before, "purge leaves the root as it was");
  step("purged");
}

// In the root: what the agent's maintainer scripts ask of systemd, as if it ran (a
// /run/systemd/system, and systemctl and deb-systemd-invoke that only write down their
// arguments): before and after the node's certificates are there, on an upgrade, on removal.
const SYSTEMD_DECISIONS = `
mkdir /tmp/stubs
for tool in systemctl deb-systemd-invoke; do
  printf '#!/bin/sh\\necho "%s $*" >>/tmp/calls\\n' "$tool" >/tmp/stubs/$tool
  chmod 0755 /tmp/stubs/$tool
done
[ ! -e /run/systemd ] || { echo "/run/systemd is there already" >&2; exit 1; }
mkdir -p /run/systemd/system
run() {
  label=$1; shift
  : >/tmp/calls
  # As dpkg runs a maintainer script (deb-systemd-helper insists).
  DPKG_MAINTSCRIPT_PACKAGE=lockstep-agent DPKG_MAINTSCRIPT_NAME=\${1##*.} PATH=/tmp/stubs:$PATH "$@"
  echo "--- $label"
  cat /tmp/calls
}
run unconfigured /var/lib/dpkg/info/lockstep-agent.postinst configure ''
touch /etc/lockstep/tls/ca.crt /etc/lockstep/tls/node.crt /etc/lockstep/tls/node.key
run configured /var/lib/dpkg/info/lockstep-agent.postinst configure ''
run upgraded /var/lib/dpkg/info/lockstep-agent.postinst configure 0.0.1
run upgrading /var/lib/dpkg/info/lockstep-agent.prerm upgrade 0.0.2
run removed /var/lib/dpkg/info/lockstep-agent.prerm remove
echo "--- end"
rm -rf /run/systemd /tmp/stubs /tmp/calls /etc/lockstep/tls/ca.crt /etc/lockstep/tls/node.crt /etc/lockstep/tls/node.key
`;

// In the root: certificates from the packaged lockstep-pki, put where the unit wants them; a
// container made by the packaged simulator; the agent split as its two units run it, with the
// packaged config against that simulated node: the root executor on its socket, its state in
// /var/lib/lockstep-executor; the network side as the lockstep-agent user, its TLS files
// copies only that user reads (as systemd's LoadCredential= gives them), its request records in
// /var/lib/lockstep-agent; what the kernel says of the network side; the node CLI's health and
// ct list over mutual TLS, as the API's client certificate (the default config's only client);
// ct show; lock inspect while a process holds the container's config lock; describe and a
// call of the health service through reflection; and the doctor with the packaged config.
// Metrics listen on a port of the kernel's choosing, so that nothing on the host is in the way.
const AGENT_SCENARIO = `
lockstep-pki init --dir /root/pki
lockstep-pki node pve1 --dir /root/pki --san IP:127.0.0.1
lockstep-pki client lockstep-api --dir /root/pki
install -m 0644 /root/pki/ca.crt /etc/lockstep/tls/ca.crt
install -m 0644 /root/pki/nodes/pve1.crt /etc/lockstep/tls/node.crt
install -m 0600 /root/pki/nodes/pve1.key /etc/lockstep/tls/node.key
LOCKSTEP_SIM_ROOT=/tmp/n1 LOCKSTEP_SIM_NODE=pve1 /usr/lib/lockstep/sim/lockstep-sim-pct.mjs create 101 local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst --storage local-lvm --hostname web-1
mkdir -p -m 0755 /run/lockstep-executor
lockstep-agent executor --config /etc/lockstep/agent.json --simulate /tmp/n1 --node pve1 \\
  --state-dir /var/lib/lockstep-executor >/tmp/executor.log 2>&1 &
executor=$!
tries=0
until grep -qs '"executor ready"' /tmp/executor.log; do
  tries=$((tries + 1))
  if [ $tries -gt 600 ] || ! kill -0 $executor 2>/dev/null; then cat /tmp/executor.log; exit 1; fi
  sleep 0.1
done
install -d -m 0700 -o lockstep-agent -g lockstep-agent /run/credentials
for file in ca.crt node.crt node.key; do
  install -m 0400 -o lockstep-agent -g lockstep-agent /etc/lockstep/tls/$file /run/credentials/$file
done
LOCKSTEP_AGENT_METRICS_LISTEN=127.0.0.1:0 setpriv --reuid=lockstep-agent --regid=lockstep-agent --init-groups --inh-caps=-all \\
  lockstep-agent --config /etc/lockstep/agent.json --simulate /tmp/n1 --node pve1 \\
  --listen 127.0.0.1:$PORT --state-dir /var/lib/lockstep-agent \\
  --tls-ca /run/credentials/ca.crt --tls-cert /run/credentials/node.crt --tls-key /run/credentials/node.key >/tmp/agent.log 2>&1 &
agent=$!
tries=0
until grep -qs '"agent listening"' /tmp/agent.log; do
  tries=$((tries + 1))
  if [ $tries -gt 600 ] || ! kill -0 $agent 2>/dev/null; then cat /tmp/agent.log /tmp/executor.log; exit 1; fi
  sleep 0.1
done
echo '--- network side'
cat /proc/$agent/status
node="lockstep-node --target 127.0.0.1:$PORT --ca /root/pki/ca.crt --cert /root/pki/clients/lockstep-api.crt --key /root/pki/clients/lockstep-api.key"
echo '--- health'
$node health
echo '--- ct list'
$node --json ct list
echo '--- ct show'
$node ct show 101
flock /tmp/n1/run/lock/lxc/pve-config-101.lock sh -c 'touch /tmp/held; exec sleep 60' &
holder=$!
until [ -e /tmp/held ]; do sleep 0.1; done
echo '--- lock'
$node lock inspect 101
kill $holder
echo '--- describe'
$node describe
echo '--- call'
$node call grpc.health.v1.Health/Check '{}'
echo '--- doctor'
lockstep-agent doctor --config /etc/lockstep/agent.json --simulate /tmp/n1 --node pve1 --state-dir /var/lib/lockstep-agent --json
echo '--- end'
kill -TERM $agent
wait $agent
kill -TERM $executor
wait $executor
rm -rf /run/lockstep-executor /run/credentials /tmp/executor.log
`;

asRoot(
  "on Debian 12 (PVE 8) both packages install, the agent serves the node CLI over mTLS, and remove and purge are clean",
  installedForReal,
  "bookworm",
);
asRoot(
  "on Debian 13 (PVE 9) both packages install, the agent serves the node CLI over mTLS, and remove and purge are clean",
  installedForReal,
  "trixie",
);

test.serial(
  "the packaged API runs on its bundled runtime against MariaDB: it migrates, answers /healthz and a token-authenticated request",
  async (t) => {
    t.timeout(5 * 60_000);
    const extracted = path.join(work, "api-extracted");
    await promisify(execFile)("dpkg-deb", ["-x", built.api, extracted]);
    const lib = path.join(extracted, "usr/lib/lockstep-api");
    const node = path.join(lib, "node/bin/node");
    const runApi = (args: string[], env: Record<string, string>) =>
      spawnOutput(node, [path.join(lib, "lockstep-api.mjs"), ...args], env);
    const pki = path.join(work, "api-pki");
    for (const args of [["init"], ["client", "lockstep-api"]])
      await promisify(execFile)(node, [path.join(lib, "lockstep-pki.mjs"), ...args, "--dir", pki]);
    const db = await createTestDatabase();
    t.teardown(() => db.drop());
    const env = {
      LOCKSTEP_DATABASE_URL: db.url,
      LOCKSTEP_API_AGENT_TLS_CA: `${pki}/ca.crt`,
      LOCKSTEP_API_AGENT_TLS_CERT: `${pki}/clients/lockstep-api.crt`,
      LOCKSTEP_API_AGENT_TLS_KEY: `${pki}/clients/lockstep-api.key`,
    };
    const api = runApi(["--listen", "127.0.0.1:0"], env);
    t.teardown(() => api.child.kill("SIGKILL"));
    const address = await eventually(() => logEntry(api.output(), "api listening")?.address as string | undefined);
    t.truthy(address, api.output());
    t.truthy(logEntry(api.output(), "migration applied"), "the migrations are in the bundle");
    t.is((await fetch(`http://${address}/healthz`)).status, 200);
    t.is((await fetch(`http://${address}/v1/nodes`)).status, 401, "no token, no answer");
    const created = runApi(["token", "create", "--name", "smoke", "--scope", "admin"], env);
    t.is(await created.exited, 0, created.output());
    const authorization = `Bearer ${/^lst_\S+$/m.exec(created.output())![0]}`;
    const registered = await fetch(`http://${address}/v1/nodes`, {
      method: "POST",
      headers: { authorization, "content-type": "application/json", "idempotency-key": "smoke-1" },
      body: JSON.stringify({ name: "pve1", address: "127.0.0.1:7000" }),
    });
    t.is(registered.status, 201, await registered.clone().text());
    const listed = await fetch(`http://${address}/v1/nodes`, { headers: { authorization } });
    t.is(listed.status, 200);
    t.deepEqual(
      ((await listed.json()) as { nodes: { name: string }[] }).nodes.map((n) => n.name),
      ["pve1"],
    );
    api.child.kill("SIGTERM");
    t.is(await api.exited, 0, api.output());
  },
);

/** The output between the scenario's `--- <from>` and `--- <to>` lines. */
function between(output: string, from: string, to: string): string {
  const start = output.indexOf(`--- ${from}\n`);
  return start < 0 ? "" : output.slice(start + `--- ${from}\n`.length, output.indexOf(`--- ${to}\n`, start));
}

/** A child process whose stdout and stderr are collected. */
function spawnOutput(file: string, args: string[], env: Record<string, string>) {
  const child = spawn(file, args, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** The value once `probe` returns one, or undefined after 20 s. */
async function eventually<T>(probe: () => T | undefined): Promise<T | undefined> {
  for (let i = 0; i < 400; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

/** The files (and control files) that differ between two packages, unpacked under `dir`. */
async function differingFiles(first: string, second: string, dir: string): Promise<string[]> {
  const [a, b] = [path.join(dir, "a"), path.join(dir, "b")];
  await promisify(execFile)("dpkg-deb", ["-R", first, a]);
  await promisify(execFile)("dpkg-deb", ["-R", second, b]);
  const listed = [...new Set([...fileList(a, []), ...fileList(b, [])])];
  return listed
    .map((entry) => entry.slice(2))
    .filter(
      (rel) =>
        !exists(a, rel) ||
        !exists(b, rel) ||
        (lstatSync(path.join(a, rel)).isFile() && sha256(path.join(a, rel)) !== sha256(path.join(b, rel))),
    );
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function ownerOf(root: string, rel: string): number {
  return lstatSync(path.join(root, rel)).uid;
}

function modeOf(root: string, rel: string): number {
  return lstatSync(path.join(root, rel)).mode & 0o777;
}

function exists(root: string, rel: string): boolean {
  try {
    lstatSync(path.join(root, rel));
    return true;
  } catch {
    return false;
  }
}

function readdirCount(root: string, rel: string): number {
  return fileList(path.join(root, rel), []).length;
}

/** A port nothing listens on now (the root shares the host's network). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once("error", reject);
  });
}
