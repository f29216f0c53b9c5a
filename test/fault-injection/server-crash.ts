import { readFileSync } from "node:fs";
import path from "node:path";

/** SIGKILLs the MariaDB server started by scripts/mariadb.sh in `dir` (a crash) and waits until it is gone. */
export async function crashServer(dir: string): Promise<void> {
  const pid = Number(readFileSync(path.join(dir, "mysqld.pid"), "utf8"));
  process.kill(pid, "SIGKILL");
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
