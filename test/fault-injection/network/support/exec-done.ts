import { readFileSync } from "node:fs";

/** Waits until process `pid` runs `command` (nsenter has exec'd it), failing after `timeoutMs`. */
export async function execDone(pid: number, command: string, timeoutMs = 30_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 20))) {
    let comm = "";
    try {
      comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      throw new Error(`process ${pid} ended before it ran ${command}`);
    }
    if (comm === command) return;
    if (Date.now() > end) throw new Error(`process ${pid} still runs ${comm}, not ${command}, after ${timeoutMs} ms`);
  }
}
