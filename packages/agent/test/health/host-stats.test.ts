import { execFile } from "node:child_process";
import { promisify } from "node:util";
import test from "ava";
import { cpuPercent, parseCpuTimes } from "../../src/health/cpu-usage.js";
import { localMounts } from "../../src/health/local-disks.js";
import { systemHostStats } from "../../src/health/host-stats.js";

const LOCAL_TYPES = ["ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "vfat"];

test("the CPU times are /proc/stat's aggregate line, idle and iowait counted as not busy", (t) => {
  const procStat = "cpu  100 10 50 800 40 0 5 0 30 0\ncpu0 50 5 25 400 20 0 2 0 15 0\nintr 1\n";
  t.deepEqual(parseCpuTimes(procStat), { busy: 165, total: 1005 });
});

test("a /proc/stat without an aggregate cpu line is an error naming what it read", (t) => {
  t.throws(() => parseCpuTimes("intr 1\n"), { message: /no aggregate cpu line: "intr 1/ });
});

test("the CPU percentage is the busy share between two readings, and since boot at the first", (t) => {
  t.is(cpuPercent({ busy: 100, total: 1000 }, { busy: 400, total: 1600 }), 50);
  t.is(cpuPercent(null, { busy: 100, total: 1000 }), 10);
  t.is(cpuPercent({ busy: 100, total: 1000 }, { busy: 100, total: 1000 }), 0);
});

test("only local disk filesystems count: pmxcfs, NFS, tmpfs and the like are never statfs()ed", (t) => {
  const mountinfo = [
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
    "40 22 0:45 / /etc/pve rw,nosuid shared:20 - fuse /dev/fuse rw,user_id=0",
    "41 22 0:46 / /mnt/pve/nas rw shared:21 - nfs4 nas:/export rw",
    "25 22 0:23 / /run rw shared:5 - tmpfs tmpfs rw",
    "60 22 0:50 / /rpool/data/subvol-101-disk-0 rw shared:30 - zfs rpool/data/subvol-101-disk-0 rw,xattr",
    "61 22 0:51 / /var/lib/lxcfs rw shared:31 - fuse.lxcfs lxcfs rw",
  ].join("\n");
  t.deepEqual(
    localMounts(mountinfo).map((m) => m.mountPoint),
    ["/", "/rpool/data/subvol-101-disk-0"],
  );
});

test("a filesystem bind-mounted elsewhere is counted once, at the mount of its root", (t) => {
  const mountinfo = [
    "45 27 254:0 /run/netns /run/netns rw shared:1 - ext4 /dev/vda rw",
    "27 1 254:0 / / rw shared:1 - ext4 /dev/vda rw",
  ].join("\n");
  t.deepEqual(localMounts(mountinfo), [{ mountPoint: "/", fsType: "ext4" }]);
});

test("a mount point with a space is unescaped", (t) => {
  const mountinfo = "30 1 8:17 / /mnt/my\\040disk rw shared:2 - xfs /dev/sdb1 rw\n";
  t.deepEqual(localMounts(mountinfo), [{ mountPoint: "/mnt/my disk", fsType: "xfs" }]);
});

test("the host's disks are the local filesystems df lists, with df's sizes", async (t) => {
  const stats = await systemHostStats().read();
  // -t selects by type before df statfs()es anything, so a FUSE mount a test holds paused is never touched.
  const { stdout } = await promisify(execFile)("df", ["-kPT", ...LOCAL_TYPES.flatMap((type) => ["-t", type])]).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }),
  );
  const listed = new Map(
    stdout
      .trim()
      .split("\n")
      .slice(1)
      .filter(Boolean)
      .map((line) => line.split(/\s+/))
      .map((f) => [f.slice(6).join(" "), { totalKiB: Number(f[2]), usedKiB: Number(f[3]) }]),
  );
  t.deepEqual(stats.disks.map((d) => d.mount).sort(), [...listed.keys()].sort());
  for (const disk of stats.disks) {
    const df = listed.get(disk.mount)!;
    t.is(Math.floor(disk.totalBytes / 1024), df.totalKiB, disk.mount);
    // Other tests write meanwhile: used may move a little between the two reads.
    t.true(Math.abs(disk.usedBytes / 1024 - df.usedKiB) < 256 * 1024, `${disk.mount}: used near df's`);
  }
});

test("the host's CPU percentage, load and memory are read from the running kernel", async (t) => {
  const source = systemHostStats();
  await source.read();
  const stats = await source.read();
  t.true(stats.cpuPercent >= 0 && stats.cpuPercent <= 100);
  t.true(stats.memoryTotalBytes > 0 && stats.memoryAvailableBytes <= stats.memoryTotalBytes);
  t.true(stats.uptimeSeconds > 0);
  t.is(stats.load.length, 3);
});
