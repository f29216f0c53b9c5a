// The node tools beside pct that the agent's doctor asks: pveversion, pvesh, pvesm, chronyc.
import { writeFileSync } from "node:fs";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { scratchDir } from "@lockstep/shared";
import { runTool } from "./tool-run.js";

/** A fresh node root, removed after the test when it passed. */
function nodeRoot(t: ExecutionContext): string {
  return scratchDir(t, "sim-tools");
}

test("pveversion prints pve-manager's version text and the running kernel", async (t) => {
  // pve-manager bin/pveversion: `PVE::pvecfg::package() . '/' . version_text()` then
  // `(running kernel: $kver)` from POSIX::uname; pvecfg.pm.in version_text is `@VERSION@/@REPOID@`.
  const nine = await runTool("pveversion", nodeRoot(t), []);
  t.is(nine.code, 0);
  t.regex(nine.stdout, /^pve-manager\/9\.\d+\.\d+\/[0-9a-f]{16} \(running kernel: \S+\)\n$/);
  const eight = await runTool("pveversion", nodeRoot(t), [], { LOCKSTEP_SIM_PVE: "8" });
  t.regex(eight.stdout, /^pve-manager\/8\.\d+\.\d+\/[0-9a-f]{16} /);
});

test("pveversion --verbose lists pve-manager with its running version, then packages by name", async (t) => {
  // bin/pveversion print_status: `$pkg: $version (running version: ...)` for pve-manager
  // (API2/APT.pm versions sets ManagerVersion), `$pkg: $version` for the rest, sorted by name.
  const out = await runTool("pveversion", nodeRoot(t), ["-v"], { LOCKSTEP_SIM_PVE: "8" });
  const lines = out.stdout.trimEnd().split("\n");
  t.regex(lines[0]!, /^pve-manager: (8\.\d+\.\d+) \(running version: \1\/[0-9a-f]{16}\)$/);
  t.true(lines.includes("pve-container: 5.3.5"));
  const names = lines.slice(1).map((line) => line.split(":")[0]!);
  t.deepEqual(names, [...names].sort());
});

test("pveversion refuses an unknown option with Getopt's warning and its usage, exit 255", async (t) => {
  // bin/pveversion: GetOptions fails -> print_usage -> exit(-1).
  const out = await runTool("pveversion", nodeRoot(t), ["--bogus"]);
  t.is(out.code, 255);
  t.is(out.stderr, "Unknown option: bogus\nUSAGE: pveversion [--verbose]\n");
});

test("pvesh get /version --output-format json prints version, release and repoid as canonical JSON", async (t) => {
  // pve-manager PVE/API2.pm `version` (pvecfg version_info) printed by pve-common
  // PVE/CLIFormatter.pm print_api_result: to_json(..., canonical => 1) . "\n".
  const out = await runTool("pvesh", nodeRoot(t), ["get", "/version", "--output-format", "json"]);
  t.is(out.code, 0);
  t.regex(out.stdout, /^\{"release":"9\.\d+","repoid":"[0-9a-f]{16}","version":"9\.\d+\.\d+"\}\n$/);
  const version = JSON.parse(out.stdout) as { version: string; release: string };
  t.true(version.version.startsWith(`${version.release}.`));
});

test("pvesh has no handler for a path it does not know", async (t) => {
  // pve-manager PVE/CLI/pvesh.pm call_api_method: die "no '$cmd' handler for '$path'\n".
  const out = await runTool("pvesh", nodeRoot(t), ["get", "/nodes/pve1/nothing", "--output-format", "json"]);
  t.is(out.code, 255);
  t.is(out.stderr, "no 'get' handler for '/nodes/pve1/nothing'\n");
});

test("pvesm status lists every storage, sorted, in KiB with the used share (PVE 9 header)", async (t) => {
  // pve-storage PVE/CLI/pvesm.pm $print_status: "%-${maxlen}s %10s %10s %15s %15s %15s %8s\n".
  const out = await runTool("pvesm", nodeRoot(t), ["status"]);
  t.is(out.code, 0);
  const lines = out.stdout.trimEnd().split("\n");
  t.is(
    lines[0],
    `${"Name".padEnd(10)} ${"Type".padStart(10)} ${"Status".padStart(10)} ${"Total (KiB)".padStart(15)} ${"Used (KiB)".padStart(15)} ${"Available (KiB)".padStart(15)} ${"%".padStart(8)}`,
  );
  t.regex(lines[1]!, /^local {13}dir {5}active +\d+ +\d+ +\d+ +\d+\.\d\d%$/);
  t.regex(lines[2]!, /^local-lvm {5}lvmthin {5}active /);
});

test("pvesm status on PVE 8 has no unit in its header", async (t) => {
  // pve-storage stable-8 PVE/CLI/pvesm.pm $print_status: 'Total', 'Used', 'Available'.
  const out = await runTool("pvesm", nodeRoot(t), ["status"], { LOCKSTEP_SIM_PVE: "8" });
  t.regex(out.stdout, /^Name +Type +Status +Total +Used +Available +%\n/);
});

test("pvesm status shows a disabled storage, and one not meant for this node, as disabled with N/A", async (t) => {
  // pve-storage Storage.pm storage_info: enabled = storage_check_enabled (`disable`, then
  // storage_check_node's `nodes`); pvesm.pm $print_status: 'disabled' and `% 8s` 'N/A'.
  const root = nodeRoot(t);
  await runTool("pvesm", root, ["status"]);
  writeFileSync(
    path.join(root, "etc/pve/storage.cfg"),
    "dir: local\n\tpath /var/lib/vz\n\tcontent vztmpl\n\tdisable\n\nlvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir\n\tnodes pve2,pve3\n",
  );
  const lines = (await runTool("pvesm", root, ["status"])).stdout.trimEnd().split("\n");
  t.regex(lines[1]!, /^local +dir +disabled +0 +0 +0 +N\/A$/);
  t.regex(lines[2]!, /^local-lvm +lvmthin +disabled +0 +0 +0 +N\/A$/);
});

test("a fault rule naming a node tool fails it; a '*' rule never touches it", async (t) => {
  const root = nodeRoot(t);
  const anyCommand = JSON.stringify([{ command: "*", action: "fail", message: "pct only" }]);
  t.is(
    (await runTool("pvesh", root, ["get", "/version", "--output-format", "json"], { LOCKSTEP_SIM_FAULTS: anyCommand }))
      .code,
    0,
  );
  const named = JSON.stringify([
    { command: "pvesh", action: "fail", message: "ipcc_send_rec[1] failed: Connection refused" },
  ]);
  const failed = await runTool("pvesh", root, ["get", "/version", "--output-format", "json"], {
    LOCKSTEP_SIM_FAULTS: named,
  });
  t.is(failed.code, 255);
  t.is(failed.stderr, "ipcc_send_rec[1] failed: Connection refused\n");
});

test("chronyc tracking reports the simulated node synchronised to this machine, leap status Normal", async (t) => {
  // chrony client.c process_cmd_tracking -> print_report: `%R (%s)`, `%.9O of NTP time`
  // (absolute value, then 'fast' for a correction of 0), `%L` leap status.
  const out = await runTool("chronyc", nodeRoot(t), ["-n", "tracking"]);
  t.is(out.code, 0);
  t.regex(
    out.stdout,
    /^Reference ID    : 7F000001 \(127\.0\.0\.1\)\nStratum         : 3\nRef time \(UTC\)  : \w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4}\nSystem time     : 0\.000000000 seconds fast of NTP time\n/,
  );
  t.regex(out.stdout, /\nLeap status     : Normal\n$/);
});

test("chronyc -c tracking prints the same report as fourteen comma-separated fields", async (t) => {
  // client.c print_report in csv_mode: no text between fields, %T as seconds.nanoseconds
  // (UTI_TimespecToString), %O and %F as plain %.9f and %.3f, addresses without DNS.
  const fields = (await runTool("chronyc", nodeRoot(t), ["-c", "tracking"])).stdout.trimEnd().split(",");
  t.is(fields.length, 14);
  t.deepEqual([fields[0], fields[1], fields[2], fields[13]], ["7F000001", "127.0.0.1", "3", "Normal"]);
  t.regex(fields[3]!, /^\d+\.000000000$/);
});

test("chronyc of an unsynchronised node reports stratum 0, refid 0 and 'Not synchronised'", async (t) => {
  // chrony reference.c REF_GetReferenceParams (not synchronised, no local stratum):
  // LEAP_Unsynchronised, NTP_REFID_UNSYNC, root delay and dispersion 1.0; REF_GetTrackingReport
  // reports NTP_MAX_STRATUM as 0.
  const fields = (
    await runTool("chronyc", nodeRoot(t), ["-c", "tracking"], { LOCKSTEP_SIM_CLOCK: "unsynchronised" })
  ).stdout
    .trimEnd()
    .split(",");
  t.deepEqual(
    [fields[0], fields[1], fields[2], fields[3], fields[10], fields[11], fields[13]],
    ["00000000", "", "0", "0.000000000", "1.000000000", "1.000000000", "Not synchronised"],
  );
});

test("chronyc with no chronyd answering prints 506 on stdout and exits 1", async (t) => {
  // chrony client.c request_reply: printf("506 Cannot talk to daemon\n"); main returns !ret.
  const out = await runTool("chronyc", nodeRoot(t), ["-c", "tracking"], { LOCKSTEP_SIM_CLOCK: "no-daemon" });
  t.is(out.code, 1);
  t.is(out.stdout, "506 Cannot talk to daemon\n");
});
