import { Hono } from "hono";
import type { Clock } from "@lockstep/shared";
import { agentV1 } from "@lockstep/shared";
import type { AgentDirectory } from "../agents/agent-directory.js";
import { ResourceConflictError, ResourceNotFoundError } from "../errors.js";
import { validateBody } from "../http/validate-body.js";
import type { IdempotencyVariables } from "../idempotency/idempotency-middleware.js";
import type { AuthVariables } from "../auth/authenticate.js";
import {
  enterMaintenance,
  findNode,
  insertNode,
  leaveMaintenance,
  listNodes,
  type NodeRecord,
} from "./node-repository.js";
import { EnterMaintenanceBody, RegisterNodeBody } from "./node-schemas.js";
import { pathParam } from "../http/path-params.js";
import type { Database } from "../db/database.js";

type Env = { Variables: IdempotencyVariables & AuthVariables };

/** `/v1/nodes`: the Proxmox nodes Lockstep knows and their agents. */
export function nodeRoutes(db: Database, clock: Clock, agents: AgentDirectory): Hono<Env> {
  const app = new Hono<Env>();
  app.get("/", async (c) => c.json({ nodes: await listNodes(db) }));
  app.get("/:name", async (c) => c.json(await requireNode(db, pathParam(c, "name"))));
  app.get("/:name/health", async (c) => {
    const node = await requireNode(db, pathParam(c, "name"));
    const health = await (await agents.forNode(node.name)).getHealth({});
    return c.json(agentV1.GetHealthResponse.toJSON(health));
  });
  app.get("/:name/locks/:vmid", async (c) => {
    const node = await requireNode(db, pathParam(c, "name"));
    const vmid = pathParam(c, "vmid");
    return c.json(agentV1.LockReport.toJSON(await (await agents.forNode(node.name)).inspectLock({ vmid })));
  });
  app.post("/", async (c) => {
    const body = await validateBody(c, RegisterNodeBody);
    const taken = (): ResourceConflictError => new ResourceConflictError(`node '${body.name}' is already registered`);
    return c.var.idempotent(async (tx) => {
      if (await findNode(tx, body.name, true)) throw taken();
      await insertNode(tx, body, new Date(clock.now())).catch((err: { errno?: number }) => {
        // A concurrent registration of the same name won the primary key.
        throw err.errno === 1062 ? taken() : err;
      });
      return { status: 201, body: await findNode(tx, body.name), headers: { location: `/v1/nodes/${body.name}` } };
    });
  });
  // Maintenance is a state, not an action: entering twice, or leaving a node that is not in
  // it, answers 200 with the node as it is.
  app.post("/:name/maintenance", async (c) => {
    const body = await validateBody(c, EnterMaintenanceBody, { emptyIsObject: true });
    const name = pathParam(c, "name");
    return c.var.idempotent(async (tx) => {
      if (
        !(await enterMaintenance(
          tx,
          name,
          { reason: body.reason ?? null, by: c.get("caller").name },
          new Date(clock.now()),
        ))
      )
        throw new ResourceNotFoundError(`node '${name}'`);
      return { status: 200, body: await findNode(tx, name) };
    });
  });
  app.delete("/:name/maintenance", async (c) => {
    const name = pathParam(c, "name");
    return c.var.idempotent(async (tx) => {
      if (!(await leaveMaintenance(tx, name, c.get("caller").name, new Date(clock.now()))))
        throw new ResourceNotFoundError(`node '${name}'`);
      return { status: 200, body: await findNode(tx, name) };
    });
  });
  return app;
}

async function requireNode(db: Database, name: string): Promise<NodeRecord> {
  const node = await findNode(db, name);
  if (!node) throw new ResourceNotFoundError(`node '${name}'`);
  return node;
}
