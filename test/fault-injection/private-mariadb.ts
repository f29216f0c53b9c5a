import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { crashServer } from "./server-crash.js";

const MARIADB_SH = fileURLToPath(new URL("../../scripts/mariadb.sh", import.meta.url));
const run = promisify(execFile);

/**
 * A MariaDB server of the scenario's own (the project's script, its own data directory and
 * port), because the scenario restarts it and the rest of the suite shares the other one.
 */
export class PrivateMariaDb {
  private constructor(
    private readonly dir: string,
    private readonly port: number,
    readonly url: string,
  ) {}

  static async start(): Promise<PrivateMariaDb> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lockstep-faults-db-"));
    const port = await freePort();
    const db = new PrivateMariaDb(dir, port, "");
    await db.script("start");
    return new PrivateMariaDb(dir, port, readFileSync(path.join(dir, "database-url"), "utf8").trim());
  }

  /** Stops the server, with SIGKILL (a crash) or SIGTERM (a clean shutdown). */
  async stop(signal: "SIGKILL" | "SIGTERM"): Promise<void> {
    if (signal === "SIGTERM") return void (await this.script("stop"));
    await crashServer(this.dir);
  }

  async start(): Promise<void> {
    await this.script("start");
  }

  async destroy(): Promise<void> {
    await this.script("stop").catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async script(command: string): Promise<void> {
    await run(MARIADB_SH, [command], {
      env: { ...process.env, LOCKSTEP_MARIADB_DIR: this.dir, LOCKSTEP_MARIADB_PORT: String(this.port) },
    });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}
