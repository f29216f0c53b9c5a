import { execFile } from "node:child_process";

/** `fuser <file>` (psmisc): exit 0 and the holders' PIDs on stdout when someone has it open, else exit 1. */
export function fuser(file: string): Promise<{ code: number; pids: number[] }> {
  return new Promise((resolve, reject) => {
    execFile("fuser", [file], (err, stdout) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      if (code !== 0 && code !== 1) return reject(err);
      resolve({ code, pids: stdout.trim().split(/\s+/).filter(Boolean).map(Number) });
    });
  });
}
