import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Pool } from "mysql2/promise";

const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  // The command name may hold spaces and parentheses: fields are counted after its last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1000;
}

/** The database server's process ID, from its pid file (the server runs on this machine). */
export async function serverPid(pool: Pool): Promise<number> {
  const [rows] = await pool.query("SELECT @@pid_file AS f");
  return Number(readFileSync((rows as { f: string }[])[0]!.f, "utf8").trim());
}

/** InnoDB's counters of lock waits and deadlocks, server-wide. */
export async function lockCounters(pool: Pool): Promise<{ waits: number; deadlocks: number }> {
  const [rows] = await pool.query(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits', 'Innodb_deadlocks')",
  );
  const value = (name: string) =>
    Number((rows as { Variable_name: string; Value: string }[]).find((r) => r.Variable_name === name)?.Value ?? 0);
  return { waits: value("Innodb_row_lock_waits"), deadlocks: value("Innodb_deadlocks") };
}
