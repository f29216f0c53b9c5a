import { readFileSync } from "node:fs";
import os from "node:os";
import mysql from "mysql2/promise";
import { serverUrl } from "../../packages/api/test/support/test-database.js";

/** What a set of figures was measured on: CPUs, memory, kernel, Node, MariaDB. */
export async function describeMachine(): Promise<string[]> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  const cpus = cpuinfo.match(/^processor\s*:/gm)?.length ?? os.cpus().length;
  const memKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  const conn = await mysql.createConnection(serverUrl());
  try {
    const [rows] = await conn.query("SELECT VERSION() AS v");
    return [
      `CPU: ${cpus} × ${model}`,
      `memory: ${(memKiB / 1024 / 1024).toFixed(1)} GiB`,
      `kernel: ${os.release()}; OS: ${osName()}`,
      `Node: ${process.version}`,
      `MariaDB: ${(rows as { v: string }[])[0]!.v} (project-local, scripts/mariadb.sh, innodb_flush_log_at_trx_commit=1)`,
      `load average now (1, 5, 15 min): ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(", ")}`,
    ];
  } finally {
    await conn.end();
  }
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}
