import { GALERA_NODES, GaleraCluster, type GaleraNode } from "../support/galera-cluster.js";
import type { Placement } from "../support/cluster.js";
import type { NetworkFault } from "./network/network-fault.js";
import { VirtualNetwork } from "./network/virtual-network.js";

const DB_HOST: Readonly<Record<GaleraNode, string>> = { n1: "db1", n2: "db2", n3: "db3" };
const PROXY_HOST = "dbproxy";
const apiHost = (i: number): string => `api${i}`;
// A node that was cut off or killed rejoins with a state transfer; on two loaded CPUs that takes a while.
const REJOIN_MS = 180_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The scenario on a network: each API process, each node's agent and each Galera node in a
 * network namespace of its own, HAProxy in another, the workload and the operator in the root
 * namespace. The database faults are real: a killed writer, a node cut off from the other two
 * (it loses quorum), an API cut off from the database, an agent cut off from every API.
 */
export class GaleraPlatform {
  private constructor(
    private readonly network: VirtualNetwork,
    readonly galera: GaleraCluster,
  ) {}

  static async start(
    nodes: readonly string[],
    apiProcesses: number,
    log: (line: string) => void,
  ): Promise<GaleraPlatform> {
    const apis = Array.from({ length: apiProcesses }, (_, i) => apiHost(i));
    const network = await VirtualNetwork.create({
      hosts: [...GALERA_NODES.map((n) => DB_HOST[n]), PROXY_HOST, ...apis, ...nodes],
      log,
    });
    try {
      const at = (host: string) => ({ namespace: network.namespace(host), address: network.address(host) });
      const galera = await GaleraCluster.start({
        placement: { n1: at(DB_HOST.n1), n2: at(DB_HOST.n2), n3: at(DB_HOST.n3), proxy: at(PROXY_HOST) },
      });
      return new GaleraPlatform(network, galera);
    } catch (err) {
      await network.destroy().catch(() => undefined);
      throw err;
    }
  }

  /** The proxy's server URL (it holds the password: keep it out of logs). */
  get url(): string {
    return this.galera.url;
  }

  api(i: number): Placement {
    return this.placement(apiHost(i));
  }

  agent(node: string): Placement {
    return this.placement(node);
  }

  /** Kills the node the proxy writes to (SIGKILL) and names it. */
  killWriter(): Promise<GaleraNode> {
    return this.galera.killWriter();
  }

  /** Starts a node that is down; it rejoins the cluster (a state transfer) and is Synced. */
  restartNode(node: GaleraNode): Promise<void> {
    return this.galera.node(node, "start");
  }

  /** The nodes that are down. */
  async downNodes(): Promise<GaleraNode[]> {
    const status = await this.galera.status();
    return GALERA_NODES.filter((n) => status.nodes[n] === "down");
  }

  /** One node cut off from the two others (the proxy still reaches it): it leaves the primary component. */
  async partitionNode(node: GaleraNode): Promise<NetworkFault[]> {
    const others = GALERA_NODES.filter((n) => n !== node);
    return Promise.all(others.map((other) => this.network.partition(DB_HOST[node], DB_HOST[other])));
  }

  /** An API process cut off from the database's proxy. */
  async cutApiFromDatabase(i: number): Promise<NetworkFault> {
    return this.network.partition(apiHost(i), PROXY_HOST);
  }

  /** A node's agent cut off from every API process (the operator still reaches it). */
  async cutAgentFromApis(node: string, apiProcesses: number): Promise<NetworkFault[]> {
    return Promise.all(Array.from({ length: apiProcesses }, (_, i) => this.network.partition(node, apiHost(i))));
  }

  /** Every network fault undone, every node that is down started again, and all three Synced behind the proxy. */
  async restoreAll(): Promise<void> {
    await this.network.heal();
    for (const node of await this.downNodes()) await this.restartNode(node);
    // A node cut off rejoins by itself once healed (an incremental state transfer).
    let status = await this.galera.status();
    for (const end = Date.now() + REJOIN_MS; !status.ok && Date.now() < end; status = await this.galera.status())
      await sleep(1000);
    if (!status.ok)
      throw new Error(`the Galera cluster did not come back whole within ${REJOIN_MS / 1000} s:\n${status.output}`);
  }

  /** The cluster stopped (its directory kept when `keep`), then the network removed. */
  async destroy(keep: boolean): Promise<void> {
    await this.galera.destroy(keep).finally(() => this.network.destroy());
  }

  private placement(host: string): Placement {
    return { wrap: (argv) => this.network.argvIn(host, argv), host: this.network.address(host) };
  }
}
