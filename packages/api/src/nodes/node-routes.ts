import { Hono } from "hono";
import type { Pool } from "mysql2/promise";
import type { Clock } from "@lockstep/shared";
import { ResourceConflictError, ResourceNotFoundError } from "../errors.js";
import { validateBody } from "../http/validate-body.js";
import type { IdempotencyVariables } from "../idempotency/idempotency-middleware.js";
import { findNode, insertNode, listNodes } from "./node-repository.js";
import { RegisterNodeBody } from "./node-schemas.js";

/** `/v1/nodes`: the Proxmox nodes Lockstep knows and their agents. */
export function nodeRoutes(pool: Pool, clock: Clock): Hono<{ Variables: IdempotencyVariables }> {
  const app = new Hono<{ Variables: IdempotencyVariables }>();
  app.get("/", async (c) => c.json({ nodes: await listNodes(pool) }));
  app.get("/:name", async (c) => {
    const node = await findNode(pool, c.req.param("name"));
    if (!node) throw new ResourceNotFoundError(`node '${c.req.param("name")}'`);
    return c.json(node);
  });
  app.post("/", async (c) => {
    const body = await validateBody(c, RegisterNodeBody);
    const tx = c.get("tx");
    const taken = (): ResourceConflictError => new ResourceConflictError(`node '${body.name}' is already registered`);
    if (await findNode(tx, body.name, true)) throw taken();
    await insertNode(tx, body, new Date(clock.now())).catch((err: { errno?: number }) => {
      // A concurrent registration of the same name won the primary key.
      throw err.errno === 1062 ? taken() : err;
    });
    c.header("location", `/v1/nodes/${body.name}`);
    return c.json(await findNode(tx, body.name), 201);
  });
  return app;
}
