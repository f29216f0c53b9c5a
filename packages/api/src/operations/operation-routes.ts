import { Hono } from "hono";
import type { Pool } from "mysql2/promise";
import { ResourceNotFoundError } from "../errors.js";
import { findOperation } from "./operation-repository.js";

/** `/v1/operations/:id`. */
export function operationRoutes(pool: Pool): Hono {
  const app = new Hono();
  app.get("/:id", async (c) => {
    const op = await findOperation(pool, c.req.param("id"));
    if (!op) throw new ResourceNotFoundError(`operation '${c.req.param("id")}'`);
    return c.json(op);
  });
  return app;
}
