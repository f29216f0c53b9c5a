import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { msSince, sleep } from "./timing.js";

/** Sleeping processes holding open files, as the containers' processes fill a Proxmox host's /proc. */
export interface BusyHost {
  readonly pids: readonly number[];
  /** Open descriptors the children hold on the pool files (besides none of their own: 0-2 are /dev/null). */
  readonly openFiles: number;
  /** Kills them all and waits until /proc no longer lists any. */
  stop(): Promise<void>;
}

// One Python parent forks every child: cheap, and one process group to kill. Each child opens
// its files (inheritable, so they survive exec), dies with the parent (PR_SET_PDEATHSIG) and
// becomes `sleep infinity`, a small process. The parent lives until its stdin closes (so also
// when the benchmark itself is killed), then kills and reaps the children: an orphan would be
// left to PID 1, which need not reap it.
const SPAWNER = String.raw`
import ctypes, os, resource, signal, sys
count, per, pool_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < per + 16:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(per + 16, hard), hard))
pool = [os.path.join(pool_dir, "f%d" % i) for i in range(per)]
for p in pool:
    open(p, "a").close()
libc = ctypes.CDLL(None, use_errno=True)
parent = os.getpid()
pids = []
for _ in range(count):
    pid = os.fork()
    if pid == 0:
        libc.prctl(1, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
        null = os.open("/dev/null", os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        os.close(null)
        for p in pool:
            os.set_inheritable(os.open(p, os.O_RDONLY), True)
        os.execv("/bin/sleep", ["sleep", "infinity"])
    pids.append(pid)
print(" ".join(map(str, pids)), flush=True)
sys.stdin.read()
for pid in pids:
    os.kill(pid, signal.SIGKILL)
for pid in pids:
    os.waitpid(pid, 0)
`;

/**
 * Starts `processes` sleeping processes with `filesPerProcess` files of `poolDir` open each.
 * Python's RLIMIT_NOFILE soft limit is raised to its hard limit if one child needs more.
 */
export async function startBusyHost(processes: number, filesPerProcess: number, poolDir: string): Promise<BusyHost> {
  const parent = spawn("python3", ["-c", SPAWNER, String(processes), String(filesPerProcess), poolDir], {
    detached: true,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const killAll = (): void => {
    try {
      process.kill(-parent.pid!, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  process.once("exit", killAll);
  const pids = await firstLine(parent, 600_000).catch((err: unknown) => {
    killAll();
    throw err;
  });
  const list = pids.split(" ").map(Number);
  await untilOpen(list, filesPerProcess, 600_000);
  return {
    pids: list,
    openFiles: list.length * filesPerProcess,
    async stop() {
      parent.stdin!.end();
      await untilGone(list, 120_000).catch(killAll);
      process.removeListener("exit", killAll);
      await untilGone(list, 60_000);
    },
  };
}

function firstLine(child: ChildProcess, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the process spawner gave no PIDs within ${ms} ms`)), ms);
    child.stdout!.on("data", (d) => {
      out += d;
      const end = out.indexOf("\n");
      if (end >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, end).trim());
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the process spawner exited ${code}`));
    });
  });
}

// A child is ready once it is `sleep`: its files are open by then (they were opened before exec).
async function untilOpen(pids: readonly number[], filesPerProcess: number, ms: number): Promise<void> {
  const start = process.hrtime.bigint();
  let pending = [...pids];
  while (pending.length > 0) {
    pending = pending.filter((pid) => !isSleep(pid));
    if (pending.length === 0) return;
    if (msSince(start) > ms)
      throw new Error(`${pending.length} of ${pids.length} processes never opened their ${filesPerProcess} files`);
    await sleep(100);
  }
}

function isSleep(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sleep";
  } catch {
    throw new Error(`process ${pid} of the busy host died before it was ready`);
  }
}

async function untilGone(pids: readonly number[], ms: number): Promise<void> {
  const start = process.hrtime.bigint();
  while (pids.some(isLive)) {
    if (msSince(start) > ms) throw new Error("the busy host's processes did not go away");
    await sleep(100);
  }
}

// A zombie holds no files any more.
function isLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
