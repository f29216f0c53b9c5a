import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import type { RowDataPacket } from "mysql2/promise";
import { fixedFieldChanges, type Clock, type Policy, type ResolvedSpec } from "@lockstep/shared";
import type { AuthVariables } from "../auth/authenticate.js";
import type { Caller } from "../auth/token-store.js";
import { allocatePorts, type PortRange } from "../allocation/allocate-ports.js";
import { allocateVmid, type VmidRange } from "../allocation/vmid-allocator.js";
import {
  ContainerStateError,
  NodeInMaintenanceError,
  PolicyViolationError,
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
import { complianceOf, policiesFor } from "../policy/compliance.js";
import {
  policyOf,
  recordRefusal,
  requireQuota,
  requireSpecAllowed,
  type RefusedRequest,
} from "../policy/enforce-policy.js";
import { jsonColumn, type Database, type Queryable } from "../db/database.js";

export interface ContainerRouteDeps {
  readonly pool: Database;
  readonly clock: Clock;
  readonly vmids: VmidRange;
  readonly ports: PortRange;
  readonly maxAttempts: number;
  /** Lockstep snapshots kept per container unless its spec says otherwise. */
  readonly snapshotKeepLast: number;
  /** What a token without a policy of its own may ask for. */
  readonly policy: Policy;
}

type Env = { Variables: IdempotencyVariables & AuthVariables };

/**
 * `/v1/containers`. A create or apply writes its record and its job in the one transaction
 * the idempotency middleware commits together with the key and the response.
 */
export function containerRoutes(deps: ContainerRouteDeps): Hono<Env> {
  const app = new Hono<Env>();
  // A refusal by policy is an incident naming the token and the rule, whatever else was refused with it.
  // `refused` is read after the refusal: an apply learns its container's node and VMID on the way.
  const refusing = async <T>(caller: Caller, refused: () => RefusedRequest, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof PolicyViolationError)
        await recordRefusal(deps.pool, caller, refused(), err, new Date(deps.clock.now()));
      throw err;
    }
  };
  // `policy`: the one that judges the record (its token's own, or the global one), as it is now.
  const view = (record: ContainerRecord, policy: Policy) => ({
    ...record,
    snapshot_retention: effectiveRetention(record.spec as ResolvedSpec, deps.snapshotKeepLast),
    policy: complianceOf(record, policy),
  });
  const views = async (db: Queryable, records: ContainerRecord[]) => {
    const policy = await policiesFor(db, records, deps.policy);
    return records.map((record) => view(record, policy(record).policy));
  };
  const withOperation = async (tx: Queryable, id: string, operationId: string) => ({
    ...(await views(tx, [(await findContainer(tx, id))!]))[0]!,
    operation: await findOperation(tx, operationId),
  });

  app.get("/", async (c) => {
    const limit = Number(c.req.query("limit") ?? 500);
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000)
      throw new RequestValidationError([{ pointer: "/query/limit", reason: "must be an integer from 1 to 5000" }]);
    const records = await listContainers(deps.pool, { node: c.req.query("node"), limit });
    return c.json({ containers: await views(deps.pool, records) });
  });
  app.get("/:id", async (c) => {
    const container = await findContainer(deps.pool, pathParam(c, "id"));
    if (!container) throw new ResourceNotFoundError(`container '${pathParam(c, "id")}'`);
    return c.json((await views(deps.pool, [container]))[0]!);
  });
  app.post("/", async (c) => {
    const body = await validateBody(c, CreateContainerBody);
    const spec = requireSpec(body.spec);
    const caller = c.get("caller");
    const policy = policyOf(caller, deps.policy);
    const refused = { kind: "create", node: body.node, containerId: null, vmid: null } as const;
    return refusing(
      caller,
      () => refused,
      async () => {
        requireSpecAllowed(policy, spec, body.node);
        return c.var.idempotent(async (tx) => {
          const node = await admitCreate(tx, body.node);
          if (!node)
            throw new RequestValidationError([{ pointer: "/node", reason: `node '${body.node}' is not registered` }]);
          if (node.maintenance)
            throw new NodeInMaintenanceError(body.node, node.maintenance.since, node.maintenance.reason);
          await requireQuota(tx, caller, policy);
          const now = new Date(deps.clock.now());
          const id = randomUUID();
          const tokenId = caller.tokenId;
          const vmid = await allocateVmid(tx, deps.vmids, body.node, id, now);
          await insertPendingContainer(tx, { id, node: body.node, vmid, hostname: spec.hostname, spec, tokenId }, now);
          const ports = await allocatePorts(tx, deps.ports, body.node, id, portNames(body.ports), now);
          const operation = { id: randomUUID(), containerId: id, node: body.node, kind: "create" as const };
          await enqueueOperation(tx, { ...operation, spec, maxAttempts: deps.maxAttempts, tokenId }, now);
          // Answered from what was just written: reading it back would cost two round trips.
          const record = pendingRecord(
            { id, node: body.node, vmid, hostname: spec.hostname, spec, ports, operationId: operation.id, tokenId },
            now,
          );
          return {
            status: 202,
            body: { ...view(record, policy), operation: queuedRecord(operation, now) },
            headers: { location: `/v1/containers/${id}` },
          };
        });
      },
    );
  });
  app.post("/:id/apply", async (c) => {
    const body = await validateBody(c, ApplyContainerBody, { emptyIsObject: true });
    const id = pathParam(c, "id");
    const caller = c.get("caller");
    let refused: RefusedRequest = { kind: "apply", node: null, containerId: id, vmid: null };
    return refusing(
      caller,
      () => refused,
      () =>
        c.var.idempotent(async (tx) => {
          const [rows] = await tx.query<RowDataPacket[]>(
            "SELECT node, vmid, status, spec FROM containers WHERE id = ? FOR UPDATE",
            [id],
          );
          const row = rows[0];
          if (!row) throw new ResourceNotFoundError(`container '${id}'`);
          if (row.status === "deleting" || row.status === "deleted")
            throw new ContainerStateError(`container '${id}' is ${row.status}; there is nothing to apply to`);
          const current = jsonColumn(row.spec) as ResolvedSpec;
          const spec = body.spec ? requireSpec(body.spec) : current;
          const fixed = fixedFieldChanges(current, spec);
          if (fixed.length > 0)
            throw new RequestValidationError(fixed.map((p) => ({ pointer: `/spec${p.pointer}`, reason: p.reason })));
          refused = { ...refused, node: row.node as string, vmid: row.vmid as number };
          requireSpecAllowed(policyOf(caller, deps.policy), spec, null);
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
              tokenId: caller.tokenId,
            },
            now,
          );
          return { status: 202, body: await withOperation(tx, id, operationId) };
        }),
    );
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
