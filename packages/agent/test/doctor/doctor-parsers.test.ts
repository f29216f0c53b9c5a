// What the doctor reads from the node's tools and files, parsed without running them.
import test from "ava";
import { judgeChronyTracking } from "../../src/doctor/checks/clock-check.js";
import { parsePvesmStatus } from "../../src/doctor/checks/pvesm-status.js";
import { packageVersion, parsePveversion } from "../../src/doctor/checks/pveversion.js";
import { parseStorageCfg } from "../../src/doctor/checks/storage-cfg.js";
import { judgeStorage } from "../../src/doctor/checks/storages-check.js";
import { isFuse, mountOf, parseMountInfo } from "../../src/doctor/mount-info.js";
import { parseActiveListLine } from "../../src/pct/active-list.js";

/** A UPID as pve-common's upid_encode writes it (node, pid, pstart, starttime, type, id, user). */
const activeListEntry = (type: string, id: string): string =>
  `UPID:pve1:0000ABCD:00C0FFEE:65000000:${type}:${id}:root@pam:`;

// A Proxmox node's /proc/self/mountinfo: /run a tmpfs, pmxcfs at /etc/pve (`/dev/fuse on /etc/pve type fuse`).
const MOUNTINFO = [
  "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/mapper/pve-root rw,errors=remount-ro",
  "24 22 0:22 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=3273392k,mode=755",
  "27 24 0:25 / /run/lock rw,nosuid,nodev,noexec,relatime shared:7 - tmpfs tmpfs rw,size=5120k",
  "48 22 0:44 / /etc/pve rw,nosuid,nodev,relatime shared:25 - fuse /dev/fuse rw,user_id=0,group_id=0,default_permissions,allow_other",
  "49 22 0:45 / /mnt/with\\040space rw - nfs4 server:/export rw",
].join("\n");

test("mountinfo gives each file's mount: pmxcfs's FUSE at /etc/pve, the innermost tmpfs for /run/lock/lxc", (t) => {
  const mounts = parseMountInfo(MOUNTINFO);
  t.like(mountOf(mounts, "/etc/pve"), { mountpoint: "/etc/pve", fstype: "fuse", source: "/dev/fuse" });
  t.true(isFuse(mountOf(mounts, "/etc/pve")!));
  t.like(mountOf(mounts, "/run/lock/lxc"), { mountpoint: "/run/lock", fstype: "tmpfs" });
  t.like(mountOf(mounts, "/etc/pvex"), { mountpoint: "/", fstype: "ext4" });
  t.like(mountOf(mounts, "/mnt/with space/x"), { mountpoint: "/mnt/with space", fstype: "nfs4" });
});

test("an active task list line is read as pve-common's read_active_workers reads it", (t) => {
  t.like(parseActiveListLine(activeListEntry("vzstart", "101") + " 1"), {
    running: true,
    status: null,
    task: { type: "vzstart", id: "101" },
  });
  t.like(parseActiveListLine(`${activeListEntry("vzdump", "")} 1 65000010 job errors`), {
    running: false,
    status: "job errors",
    task: { type: "vzdump", id: "" },
  });
  t.like(parseActiveListLine(`${activeListEntry("vzcreate", "102")} 0 65000010`), { running: false, status: null });
  t.is(parseActiveListLine(`${activeListEntry("vzstart", "101")} 2`), null);
  t.is(parseActiveListLine("UPID:broken 1"), null);
});

test("pveversion's line gives the PVE major version, -v the package versions", (t) => {
  t.deepEqual(parsePveversion("pve-manager/8.4.1/2a5fa54a8503f96d (running kernel: 6.8.12-9-pve)\n"), {
    version: "8.4.1",
    major: 8,
    repoid: "2a5fa54a8503f96d",
    kernel: "6.8.12-9-pve",
  });
  t.is(parsePveversion("pve-manager: 8.4.1 (running version: 8.4.1/2a5fa54a8503f96d)"), null);
  const verbose =
    "proxmox-ve: 8.4.0 (running kernel: 6.8.12-9-pve)\npve-manager: 8.4.1 (running version: 8.4.1/2a5fa54a8503f96d)\npve-container: 5.2.6\n";
  t.is(packageVersion(verbose, "pve-container"), "5.2.6");
  t.is(packageVersion(verbose, "pve-manager"), "8.4.1");
  t.is(packageVersion(verbose, "qemu-server"), null);
});

test("storage.cfg and pvesm status decide whether a storage can hold containers here", (t) => {
  const cfg = parseStorageCfg(
    "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nzfspool: tank\n\tpool tank\n\tcontent rootdir,images\n\tnodes pve2,pve3\n\tsparse 1\n",
  );
  t.like(cfg[1], {
    type: "zfspool",
    id: "tank",
    content: ["rootdir", "images"],
    disabled: false,
    nodes: ["pve2", "pve3"],
  });
  const rows = parsePvesmStatus(
    "Name         Type     Status     Total (KiB)      Used (KiB) Available (KiB)        %\nlocal         dir     active        98497780        12345678        81099766   12.53%\ntank      zfspool   disabled               0               0               0      N/A\n",
  );
  t.like(rows[0], { id: "local", type: "dir", status: "active", totalKib: 98497780, availKib: 81099766 });
  t.is(
    judgeStorage({ id: "tank", content: "rootdir" }, cfg, rows, "pve1").problem,
    "storage 'tank' is limited to nodes pve2,pve3, not pve1",
  );
  t.is(judgeStorage({ id: "local", content: "vztmpl" }, cfg, rows, "pve1").problem, null);
});

test("chrony's tracking CSV: Normal passes, a second off warns, Not synchronised fails", (t) => {
  const line = (offset: string, leap: string): string =>
    `C0A8010A,192.168.1.10,3,1764520000.123456789,${offset},0.000000512,0.000012000,-12.345,0.001,0.050,0.001234567,0.000345678,1024.0,${leap}\n`;
  t.deepEqual(judgeChronyTracking(line("-0.000001234", "Normal")), {
    status: "pass",
    seen: "chrony synchronised to 192.168.1.10 (stratum 3), 0.000001 s fast of NTP time",
  });
  t.is(judgeChronyTracking(line("2.500000000", "Normal")).status, "warn");
  t.is(judgeChronyTracking(line("0.000000000", "Not synchronised")).status, "fail");
  t.is(judgeChronyTracking("506 Cannot talk to daemon\n").status, "fail");
});
