import { Hono } from "hono";
import type { Pool } from "mysql2/promise";
import { vmidProblem } from "@lockstep/shared";
import type { AgentDirectory } from "../agents/agent-directory.js";
import { RequestValidationError, ResourceNotFoundError } from "../errors.js";
import { findNode } from "../nodes/node-repository.js";
import { compareContainer } from "./compare-container.js";
import { openFindings } from "./drift-store.js";
import type { Reconciler } from "./reconciler.js";

const KINDS = new Set(["missing", "orphan", "foreign", "state-mismatch", "duplicate", "stale-lock", "unreachable"]);

/**
 * `POST /v1/reconcile` runs a pass now; `GET /v1/drift` lists what differs;
 * `GET /v1/nodes/{name}/containers/{vmid}` sets one VMID's record, node truth and verdict side by side.
 */
export function reconcileRoutes(pool: Pool, reconciler: Reconciler, agents: AgentDirectory): Hono {
  const app = new Hono();
  app.post("/reconcile", async (c) => c.json({ nodes: await reconciler.pass() }));
  app.get("/drift", async (c) => {
    const kind = c.req.query("kind");
    const vmid = c.req.query("vmid");
    const problems = [];
    if (kind !== undefined && !KINDS.has(kind)) problems.push({ pointer: "/query/kind", reason: `must be one of ${[...KINDS].join(", ")}` });
    if (vmid !== undefined && !/^\d{3,9}$/.test(vmid)) problems.push({ pointer: "/query/vmid", reason: "must be a VMID" });
    if (problems.length > 0) throw new RequestValidationError(problems);
    return c.json({ findings: await openFindings(pool, { node: c.req.query("node"), kind, vmid: vmid === undefined ? undefined : Number(vmid) }) });
  });
  app.get("/nodes/:name/containers/:vmid", async (c) => {
    const vmid = Number(c.req.param("vmid"));
    const problem = vmidProblem(vmid);
    if (problem) throw new RequestValidationError([{ pointer: "/path/vmid", reason: problem }]);
    if (!(await findNode(pool, c.req.param("name")))) throw new ResourceNotFoundError(`node '${c.req.param("name")}'`);
    return c.json(await compareContainer(pool, agents, c.req.param("name"), vmid));
  });
  return app;
}
