import { agentDirectory } from "../../src/agents/agent-directory.js";
import type { Database } from "../../src/db/database.js";

/** No agent is ever reached in these tests; loopback plaintext keeps them free of certificates. */
export const noAgents = (pool: Database) => agentDirectory(pool, 5_000, { mode: "plaintext-loopback" });
