import type { RowDataPacket } from "mysql2/promise";
import { AgentClient, agentChannel, type AgentTransport } from "@lockstep/shared";
import { ResourceNotFoundError } from "../errors.js";
import type { Database } from "../db/database.js";

/** The agents the API talks to, by node name. */
export interface AgentDirectory {
  forNode(node: string): Promise<AgentClient>;
  close(): void;
}

/**
 * Agent clients built from the registered nodes' addresses, kept while the address holds.
 * Over mTLS each agent must present the cluster CA's certificate for its registered node
 * name, so an address that answers with another node's certificate is refused.
 */
export function agentDirectory(pool: Database, callTimeoutMs: number, transport: AgentTransport): AgentDirectory {
  const clients = new Map<string, AgentClient>();
  return {
    async forNode(node) {
      const [rows] = await pool.query<RowDataPacket[]>("SELECT address FROM nodes WHERE name = ?", [node]);
      const address = rows[0]?.address as string | undefined;
      if (!address) throw new ResourceNotFoundError(`node '${node}'`);
      const cached = clients.get(node);
      if (cached && cached.target === address) return cached;
      cached?.close();
      const client = new AgentClient(address, {
        defaultTimeoutMs: callTimeoutMs,
        ...agentChannel(transport, address, node),
      });
      clients.set(node, client);
      return client;
    },
    close() {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}
