import { spawn } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir } from "@lockstep/shared";
import { devToMajorMinor, parseProcLocks } from "../../src/proc/proc-locks.js";

test("/proc/locks lines are parsed with hex devices, decimal inodes and waiters marked", (t) => {
  const locks = parseProcLocks(
    [
      "2: FLOCK  ADVISORY  WRITE 11386 fe:00:2146415 0 EOF",
      "2: -> FLOCK  ADVISORY  WRITE 11400 fe:00:2146415 0 EOF",
      "1: FLOCK  ADVISORY  WRITE 11455 00:1b:2 0 EOF",
      "3: POSIX  ADVISORY  READ 42 103:02:77 0 EOF",
    ].join("\n"),
  );
  t.deepEqual(
    locks.map((l) => [l.kind, l.pid, l.major, l.minor, l.inode, l.waiting]),
    [
      ["FLOCK", 11386, 0xfe, 0, 2146415, false],
      ["FLOCK", 11400, 0xfe, 0, 2146415, true],
      ["FLOCK", 11455, 0, 0x1b, 2, false],
      ["POSIX", 42, 0x103, 2, 77, false],
    ],
  );
});

test("a file's stat device maps to the numbers /proc/locks shows for it", async (t) => {
  const file = path.join(scratchDir(t, "devmap"), "x.lock");
  writeFileSync(file, "");
  const holder = spawn("flock", [file, "sleep", "30"], { detached: true, stdio: "ignore" });
  t.teardown(() => process.kill(-holder.pid!, "SIGKILL"));
  const st = statSync(file, { bigint: true });
  const { major, minor } = devToMajorMinor(st.dev);
  for (let i = 0; i < 100; i++) {
    const mine = parseProcLocks(readFileSync("/proc/locks", "utf8")).find(
      (l) => l.inode === Number(st.ino) && l.major === major && l.minor === minor,
    );
    if (mine) return t.pass();
    await new Promise((r) => setTimeout(r, 50));
  }
  t.fail("the lock on the file never showed up under its device and inode");
});
