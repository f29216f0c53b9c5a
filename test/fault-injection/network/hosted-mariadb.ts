import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { VirtualNetwork } from "./virtual-network.js";
import { crashServer } from "../server-crash.js";

const MARIADB_SH = fileURLToPath(new URL("../../../scripts/mariadb.sh", import.meta.url));
// A first start initialises the data directory: on a loaded machine that takes a while.
const SCRIPT_MS = 180_000;
const PORT = 3306;

/**
 * A MariaDB server in a host of a network: the project's script run in the host, the server
 * listening on the host's address (each host has its own ports, so always 3306) and letting
 * the `lockstep` user in from the other hosts. Shaped as PrivateMariaDb, for the fault suite.
 */
export class HostedMariaDb {
  private constructor(
    private readonly network: VirtualNetwork,
    private readonly host: string,
    private readonly dir: string,
    /** The URL clients in other hosts connect with (it holds the password: keep it out of logs). */
    readonly url: string,
  ) {}

  static async start(network: VirtualNetwork, host: string): Promise<HostedMariaDb> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lockstep-hosted-db-"));
    const db = new HostedMariaDb(network, host, dir, "");
    try {
      await db.script("start");
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new HostedMariaDb(network, host, dir, readFileSync(path.join(dir, "database-url"), "utf8").trim());
  }

  /** Stops the server, with SIGKILL (a crash) or SIGTERM (a clean shutdown). */
  async stop(signal: "SIGKILL" | "SIGTERM"): Promise<void> {
    if (signal === "SIGTERM") return this.script("stop");
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
    const env = [
      `LOCKSTEP_MARIADB_DIR=${this.dir}`,
      `LOCKSTEP_MARIADB_PORT=${PORT}`,
      `LOCKSTEP_MARIADB_BIND=${this.network.address(this.host)}`,
    ];
    await this.network.run(this.host, ["env", ...env, MARIADB_SH, command], { timeoutMs: SCRIPT_MS });
  }
}
