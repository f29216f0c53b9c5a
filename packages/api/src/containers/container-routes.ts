import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import type { RowDataPacket } from "mysql2/promise";
import { fixedFieldChanges, type Clock, type ResolvedSpec } from "@lockstep/shared";
import { allocatePorts, type PortRange } from "../allocation/allocate-ports.js";
import { allocateVmid, type VmidRange } from "../allocation/vmid-allocator.js";
import {
  ContainerStateError,
  NodeInMaintenanceError,
  RequestValidationError,
  ResourceNotFoundError,
} from "../errors.js";
import { validateBody } from "../http/validate-body.js";
import type { IdempotencyVariables } from "../idempotency/idempotency-middleware.js";
import { admitCreate } from "../nodes/node-repository.js";
import { findOperation, queuedRecord } from "../operations/operation-repository.js";
import { changeSpec, insertPendingContainer } from "../lifecycle/container-lifecycle.js";
import { enqueueOperation } from "../lifecycle/operation-lifecycle.js";
import { findContainer, listContainers, pendingRecord, type ContainerRecord } from "./container-repository.js";
import { ApplyContainerBody, CreateContainerBody, portNames, requireSpec } from "./container-schemas.js";
import { requestDeletion } from "./request-deletion.js";
import { effectiveRetention } from "./snapshot-retention.js";
import { pathParam } from "../http/path-params.js";
import type { Database, Queryable } from "../db/database.js";

export interface ContainerRouteDeps {
  readonly pool: Database;
  readonly clock: Clock;
  readonly vmids: VmidRange;
  readonly ports: PortRange;
  readonly maxAttempts: number;
  /** Lockstep snapshots kept per container unless its spec says otherwise. */
  readonly snapshotKeepLast: number;
}

/**
 * `/v1/containers`. A create or apply writes its record and its job in the one transaction
 * the idempotency middleware commits together with the key and the response.
 */
export function containerRoutes(deps: ContainerRouteDeps): Hono<{ Variables: IdempotencyVariables }> {
  const app = new Hono<{ Variables: IdempotencyVariables }>();
  const view = (record: ContainerRecord) => ({
    ...record,
    snapshot_retention: effectiveRetention(record.spec as ResolvedSpec, deps.snapshotKeepLast),
  });
  const withOperation = async (tx: Queryable, id: string, operationId: string) => ({
    ...view((await findContainer(tx, id))!),
    operation: await findOperation(tx, operationId),
  });

  app.get("/", async (c) => {
    const limit = Number(c.req.query("limit") ?? 500);
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000)
      throw new RequestValidationError([{ pointer: "/query/limit", reason: "must be an integer from 1 to 5000" }]);
    return c.json({ containers: (await listContainers(deps.pool, { node: c.req.query("node"), limit })).map(view) });
  });
  app.get("/:id", async (c) => {
    const container = await findContainer(deps.pool, pathParam(c, "id"));
    if (!container) throw new ResourceNotFoundError(`container '${pathParam(c, "id")}'`);
    return c.json(view(container));
  });
  app.post("/", async (c) => {
    const body = await validateBody(c, CreateContainerBody);
    const spec = requireSpec(body.spec);
    return c.var.idempotent(async (tx) => {
      const node = await admitCreate(tx, body.node);
      if (!node)
        throw new RequestValidationError([{ pointer: "/node", reason: `node '${body.node}' is not registered` }]);
      if (node.maintenance)
        throw new NodeInMaintenanceError(body.node, node.maintenance.since, node.maintenance.reason);
      const now = new Date(deps.clock.now());
      const id = randomUUID();
      const vmid = await allocateVmid(tx, deps.vmids, body.node, id, now);
      await insertPendingContainer(tx, { id, node: body.node, vmid, hostname: spec.hostname, spec }, now);
      const ports = await allocatePorts(tx, deps.ports, body.node, id, portNames(body.ports), now);
      const operation = { id: randomUUID(), containerId: id, node: body.node, kind: "create" as const };
      await enqueueOperation(tx, { ...operation, spec, maxAttempts: deps.maxAttempts }, now);
      // Answered from what was just written: reading it back would cost two round trips.
      const record = pendingRecord(
        { id, node: body.node, vmid, hostname: spec.hostname, spec, ports, operationId: operation.id },
        now,
      );
      return {
        status: 202,
        body: { ...view(record), operation: queuedRecord(operation, now) },
        headers: { location: `/v1/containers/${id}` },
      };
    });
  });
  app.post("/:id/apply", async (c) => {
    const body = await validateBody(c, ApplyContainerBody, { emptyIsObject: true });
    const id = pathParam(c, "id");
    return c.var.idempotent(async (tx) => {
      const [rows] = await tx.query<RowDataPacket[]>(
        "SELECT node, status, spec FROM containers WHERE id = ? FOR UPDATE",
        [id],
      );
      const row = rows[0];
      if (!row) throw new ResourceNotFoundError(`container '${id}'`);
      if (row.status === "deleting" || row.status === "deleted")
        throw new ContainerStateError(`container '${id}' is ${row.status}; there is nothing to apply to`);
      const current = (typeof row.spec === "string" ? JSON.parse(row.spec) : row.spec) as ResolvedSpec;
      const spec = body.spec ? requireSpec(body.spec) : current;
      const fixed = fixedFieldChanges(current, spec);
      if (fixed.length > 0)
        throw new RequestValidationError(fixed.map((p) => ({ pointer: `/spec${p.pointer}`, reason: p.reason })));
      const now = new Date(deps.clock.now());
      await changeSpec(tx, id, spec, now);
      const operationId = randomUUID();
      await enqueueOperation(
        tx,
        {
          id: operationId,
          containerId: id,
          node: row.node as string,
          kind: "apply",
          spec,
          maxAttempts: deps.maxAttempts,
        },
        now,
      );
      return { status: 202, body: await withOperation(tx, id, operationId) };
    });
  });
  app.delete("/:id", async (c) => {
    const id = pathParam(c, "id");
    return c.var.idempotent(async (tx) => {
      const operationId = await requestDeletion(tx, id, deps.maxAttempts, new Date(deps.clock.now()));
      return { status: 202, body: await withOperation(tx, id, operationId) };
    });
  });
  return app;
}
