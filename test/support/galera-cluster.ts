import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const GALERA_SH = fileURLToPath(new URL("../../scripts/galera.sh", import.meta.url));

/** The nodes of a cluster made by scripts/galera.sh. */
export type GaleraNode = "n1" | "n2" | "n3";
export const GALERA_NODES: readonly GaleraNode[] = ["n1", "n2", "n3"];

/** Where one node or the proxy runs: a network namespace (as `ip netns` names it) and an address it has. */
export interface GaleraPlace {
  readonly namespace: string;
  readonly address: string;
}

/** Each node and the proxy in a namespace of its own (LOCKSTEP_GALERA_NETNS); without one, all on 127.0.0.1. */
export type GaleraPlacement = Readonly<Record<GaleraNode | "proxy", GaleraPlace>>;

export interface GaleraStartOptions {
  readonly placement?: GaleraPlacement;
}

/** What `scripts/galera.sh node <n> ...` does to one node. */
export type NodeAction = "start" | "stop" | "kill" | "pause" | "resume";

/** One node's line of `scripts/galera.sh status`: "Synced Primary", "down", "not answering"... */
export interface GaleraStatus {
  readonly ok: boolean;
  readonly nodes: Readonly<Record<GaleraNode, string>>;
  /** The node the proxy's connection landed on, or null when the proxy did not answer. */
  readonly writer: GaleraNode | null;
  readonly output: string;
}

/** A command of scripts/galera.sh failed or outran its bound. */
export class GaleraScriptError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | string | null,
    readonly output: string,
  ) {
    super(`scripts/galera.sh ${args.join(" ")} failed (${exitCode}):\n${output}`);
    this.name = "GaleraScriptError";
  }
}

// Bounds for the script's commands on a loaded two-CPU machine: a start runs up to three state
// transfers (and the first one may install packages from Debian).
const START_MS = 15 * 60_000;
const NODE_MS = 5 * 60_000;
const OTHER_MS = 3 * 60_000;

/**
 * A Galera cluster of the caller's own: scripts/galera.sh with a temporary directory and
 * ports of its own, so it neither meets .local/galera nor another test's cluster. Needs root.
 */
export class GaleraCluster {
  private constructor(
    readonly dir: string,
    readonly portBase: number,
    /** The proxy's database URL (it holds the password: keep it out of logs). */
    readonly url: string,
    /** What every command of the script is given: each must see the placement the cluster started with. */
    readonly env: Readonly<Record<string, string>>,
  ) {}

  /** Starts a new cluster; on failure stops what did start and keeps the directory (named in the error). */
  static async start(options: GaleraStartOptions = {}): Promise<GaleraCluster> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lockstep-galera-"));
    const portBase = await freePortBase();
    const env = scriptEnv(dir, portBase, options.placement);
    try {
      await runScript(env, ["start"], START_MS);
      const url = (await runScript(env, ["url"], OTHER_MS)).stdout.trim();
      return new GaleraCluster(dir, portBase, url, env);
    } catch (err) {
      await runScript(env, ["stop"], OTHER_MS).catch(() => killAll(dir));
      throw new Error(`the Galera cluster in ${dir} (kept) did not start: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Node n's own database URL, bypassing the proxy. */
  async nodeUrl(node: GaleraNode): Promise<string> {
    return (await this.run(["url", node], OTHER_MS)).stdout.trim();
  }

  async status(): Promise<GaleraStatus> {
    const { code, stdout } = await this.run(["status"], OTHER_MS, { allowFailure: true });
    const nodes = Object.fromEntries(
      GALERA_NODES.map((node) => [node, stdout.match(new RegExp(`^${node} \\S+ (.*)$`, "m"))?.[1] ?? "missing"]),
    );
    const writer = stdout.match(/^proxy \S+ -> (n[123])$/m)?.[1] as GaleraNode | undefined;
    return { ok: code === 0, nodes: nodes as Record<GaleraNode, string>, writer: writer ?? null, output: stdout };
  }

  /** SIGKILLs the node the proxy writes to and names it. */
  async killWriter(): Promise<GaleraNode> {
    return (await this.run(["kill-writer"], OTHER_MS)).stdout.trim() as GaleraNode;
  }

  async node(node: GaleraNode, action: NodeAction): Promise<void> {
    await this.run(["node", node, action], action === "start" ? NODE_MS : OTHER_MS);
  }

  /** Starts what is not running: the whole cluster after `stop`, or missing nodes and the proxy. */
  async start(): Promise<void> {
    await this.run(["start"], START_MS);
  }

  /** Stops the proxy and each node cleanly; the data stays. */
  async stop(): Promise<void> {
    await this.run(["stop"], OTHER_MS);
  }

  /** The state Galera keeps in a node's grastate.dat (`safe_to_bootstrap`, `seqno`, ...). */
  grastate(node: GaleraNode): string {
    return readFileSync(path.join(this.dir, node, "data", "grastate.dat"), "utf8");
  }

  /** Stops everything this cluster runs (SIGKILL for what a clean stop leaves) and removes its directory unless `keep`. */
  async destroy(keep: boolean): Promise<void> {
    await this.stop().catch(() => killAll(this.dir));
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }

  private run(args: string[], timeoutMs: number, options: { allowFailure?: boolean } = {}): Promise<ScriptResult> {
    return runScript(this.env, args, timeoutMs, options);
  }
}

/** The script's settings for one cluster; the placement as LOCKSTEP_GALERA_NETNS (the script checks it). */
function scriptEnv(dir: string, portBase: number, placement: GaleraPlacement | undefined): Record<string, string> {
  const env: Record<string, string> = { LOCKSTEP_GALERA_DIR: dir, LOCKSTEP_GALERA_PORT_BASE: String(portBase) };
  if (placement) {
    env.LOCKSTEP_GALERA_NETNS = (["n1", "n2", "n3", "proxy"] as const)
      .map((part) => `${part}=${placement[part].namespace}@${placement[part].address}`)
      .join(",");
  }
  return env;
}

/** SIGKILLs the nodes and the proxy whose pid files are in `dir`: what a clean stop could not end. */
function killAll(dir: string): void {
  const pidFiles: [string, string][] = [
    ...GALERA_NODES.map((node): [string, string] => [path.join(node, "mysqld.pid"), "mariadbd"]),
    ["proxy/haproxy.pid", "haproxy"],
  ];
  for (const [file, command] of pidFiles) {
    try {
      const pid = Number(readFileSync(path.join(dir, file), "utf8"));
      // A stale pid file may name someone else's process by now.
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === command) process.kill(pid, "SIGKILL");
    } catch {
      // Not running, or never started.
    }
  }
}

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runScript(
  settings: Readonly<Record<string, string>>,
  args: string[],
  timeoutMs: number,
  options: { allowFailure?: boolean } = {},
): Promise<ScriptResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...settings };
  // A placement in the caller's own environment must not reach a cluster started without one.
  if (!settings.LOCKSTEP_GALERA_NETNS) delete env.LOCKSTEP_GALERA_NETNS;
  return new Promise((resolve, reject) => {
    execFile(GALERA_SH, args, { env, timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      if (err && (!options.allowFailure || typeof err.code !== "number")) {
        reject(
          new GaleraScriptError(
            args,
            err.killed ? `killed after ${timeoutMs} ms` : (err.code ?? null),
            `${stdout}${stderr}`,
          ),
        );
      } else resolve({ code, stdout, stderr });
    });
  });
}

/** The offsets from the port base that scripts/galera.sh uses (proxy, MySQL, group, IST, SST). */
const PORT_OFFSETS = [0, 1, 2, 3, 11, 12, 13, 21, 22, 23, 31, 32, 33];

/**
 * A base whose every port is free on 127.0.0.1 now, at random from 10000 to 32000: below
 * Linux's ephemeral range (32768 up), where an outgoing connection could take one meanwhile.
 */
async function freePortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * 550) * 40;
    const free = await Promise.all(PORT_OFFSETS.map((offset) => portFree(base + offset)));
    if (free.every(Boolean)) return base;
  }
  throw new Error("no free range of 34 ports found on 127.0.0.1 for a Galera cluster");
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
