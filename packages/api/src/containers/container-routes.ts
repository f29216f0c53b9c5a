import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import type { Pool } from "mysql2/promise";
import type { Clock } from "@lockstep/shared";
import { allocatePorts, type PortRange } from "../allocation/allocate-ports.js";
import { allocateVmid, type VmidRange } from "../allocation/allocate-vmid.js";
import { RequestValidationError, ResourceNotFoundError } from "../errors.js";
import { validateBody } from "../http/validate-body.js";
import type { IdempotencyVariables } from "../idempotency/idempotency-middleware.js";
import { findNode } from "../nodes/node-repository.js";
import { enqueueOperation, findOperation } from "../operations/operation-repository.js";
import { findContainer, insertContainer, listContainers } from "./container-repository.js";
import { CreateContainerBody, portNames } from "./container-schemas.js";
import { requestDeletion } from "./request-deletion.js";

export interface ContainerRouteDeps {
  readonly pool: Pool;
  readonly clock: Clock;
  readonly vmids: VmidRange;
  readonly ports: PortRange;
  readonly maxAttempts: number;
}

/**
 * `/v1/containers`. A create writes its record, its VMID and ports and its job in the one
 * transaction the idempotency middleware commits together with the key and the response.
 */
export function containerRoutes(deps: ContainerRouteDeps): Hono<{ Variables: IdempotencyVariables }> {
  const app = new Hono<{ Variables: IdempotencyVariables }>();
  app.get("/", async (c) => {
    const limit = Number(c.req.query("limit") ?? 500);
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000) throw new RequestValidationError([{ pointer: "/query/limit", reason: "must be an integer from 1 to 5000" }]);
    return c.json({ containers: await listContainers(deps.pool, { node: c.req.query("node"), limit }) });
  });
  app.get("/:id", async (c) => {
    const container = await findContainer(deps.pool, c.req.param("id"));
    if (!container) throw new ResourceNotFoundError(`container '${c.req.param("id")}'`);
    return c.json(container);
  });
  app.post("/", async (c) => {
    const body = await validateBody(c, CreateContainerBody);
    const tx = c.get("tx");
    if (!(await findNode(tx, body.node))) throw new RequestValidationError([{ pointer: "/node", reason: `node '${body.node}' is not registered` }]);
    const now = new Date(deps.clock.now());
    const id = randomUUID();
    const vmid = await allocateVmid(tx, deps.vmids, body.node, id, now);
    await insertContainer(tx, { id, node: body.node, vmid, hostname: body.hostname, spec: body }, now);
    await allocatePorts(tx, deps.ports, body.node, id, portNames(body.ports), now);
    const operationId = randomUUID();
    await enqueueOperation(tx, { id: operationId, containerId: id, node: body.node, kind: "create", input: { vmid }, maxAttempts: deps.maxAttempts }, now);
    c.header("location", `/v1/containers/${id}`);
    return c.json({ ...(await findContainer(tx, id)), operation: await findOperation(tx, operationId) }, 202);
  });
  app.delete("/:id", async (c) => {
    const tx = c.get("tx");
    const operationId = await requestDeletion(tx, c.req.param("id"), deps.maxAttempts, new Date(deps.clock.now()));
    return c.json({ ...(await findContainer(tx, c.req.param("id"))), operation: await findOperation(tx, operationId) }, 202);
  });
  return app;
}
