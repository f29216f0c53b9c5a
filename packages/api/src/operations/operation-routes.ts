import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { Clock } from "@lockstep/shared";
import { ResourceNotFoundError } from "../errors.js";
import { findOperation, type OperationRecord } from "./operation-repository.js";
import { pathParam } from "../http/path-params.js";
import type { Database } from "../db/database.js";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/** `/v1/operations/:id`, and its steps streamed as they run. */
export function operationRoutes(pool: Database, clock: Clock, pollMs = 250): Hono {
  const app = new Hono();
  const load = async (id: string): Promise<OperationRecord> => {
    const op = await findOperation(pool, id);
    if (!op) throw new ResourceNotFoundError(`operation '${id}'`);
    return op;
  };
  app.get("/:id", async (c) => c.json(await load(pathParam(c, "id"))));
  /**
   * Server-sent events: a `step` event each time a step starts or ends, then one `operation`
   * event with the final record. The job may run in another API process, so the stream
   * follows the database, not this process's memory.
   */
  app.get("/:id/events", async (c) => {
    let op = await load(pathParam(c, "id"));
    return streamSSE(c, async (stream) => {
      const sent = new Map<string, string>();
      let aborted = false;
      stream.onAbort(() => {
        aborted = true;
      });
      for (;;) {
        for (const step of op.steps as { name: string }[]) {
          const data = JSON.stringify(step);
          if (sent.get(step.name) === data) continue;
          sent.set(step.name, data);
          await stream.writeSSE({ event: "step", data });
        }
        if (FINISHED.has(op.status) || aborted) break;
        await clock.sleep(pollMs);
        op = (await findOperation(pool, op.id)) ?? op;
      }
      if (!aborted) await stream.writeSSE({ event: "operation", data: JSON.stringify(op) });
    });
  });
  return app;
}
