import { Hono } from "hono";
import type { AgentDirectory } from "../agents/agent-directory.js";
import { RequestValidationError, ResourceNotFoundError } from "../errors.js";
import { findNode } from "../nodes/node-repository.js";
import { compareContainer } from "./compare-container.js";
import { DRIFT_KINDS } from "./reconcile-schemas.js";
import { openFindings } from "./drift-store.js";
import type { Reconciler } from "./reconciler.js";
import { pathParam } from "../http/path-params.js";
import type { Database } from "../db/database.js";

// How long a requested pass waits for a node another pass is judging; a node still busy
// after that is reported `skipped`.
const ON_DEMAND_WAIT_S = 60;

const KINDS = new Set<string>(DRIFT_KINDS);

/**
 * `POST /v1/reconcile` runs a pass now; `GET /v1/drift` lists what differs;
 * `GET /v1/nodes/{name}/containers/{vmid}` sets one VMID's record, node truth and verdict side by side.
 */
export function reconcileRoutes(pool: Database, reconciler: Reconciler, agents: AgentDirectory): Hono {
  const app = new Hono();
  app.post("/reconcile", async (c) => c.json({ nodes: await reconciler.pass(ON_DEMAND_WAIT_S) }));
  app.get("/drift", async (c) => {
    const kind = c.req.query("kind");
    const vmid = c.req.query("vmid");
    const problems = [];
    if (kind !== undefined && !KINDS.has(kind))
      problems.push({ pointer: "/query/kind", reason: `must be one of ${[...KINDS].join(", ")}` });
    if (vmid !== undefined && !/^\d{3,9}$/.test(vmid))
      problems.push({ pointer: "/query/vmid", reason: "must be a VMID" });
    if (problems.length > 0) throw new RequestValidationError(problems);
    return c.json({
      findings: await openFindings(pool, {
        node: c.req.query("node"),
        kind,
        vmid: vmid === undefined ? undefined : Number(vmid),
      }),
    });
  });
  app.get("/nodes/:name/containers/:vmid", async (c) => {
    const vmid = pathParam(c, "vmid");
    if (!(await findNode(pool, pathParam(c, "name"))))
      throw new ResourceNotFoundError(`node '${pathParam(c, "name")}'`);
    return c.json(await compareContainer(pool, agents, pathParam(c, "name"), vmid));
  });
  return app;
}
