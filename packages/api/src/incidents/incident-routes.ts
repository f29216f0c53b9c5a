import { Hono } from "hono";
import { vmidProblem } from "@lockstep/shared";
import { RequestValidationError, type FieldProblem } from "../errors.js";
import { listIncidents, type IncidentFilter } from "./incident-log.js";
import type { Database } from "../db/database.js";

/** `GET /v1/incidents?node=&vmid=&kind=&since=&until=&limit=`. */
export function incidentRoutes(pool: Database): Hono {
  const app = new Hono();
  app.get("/", async (c) => c.json({ incidents: await listIncidents(pool, parseFilter(c.req.query())) }));
  return app;
}

function parseFilter(query: Record<string, string>): IncidentFilter {
  const problems: FieldProblem[] = [];
  const time = (name: string): Date | undefined => {
    if (query[name] === undefined) return undefined;
    const date = new Date(query[name]);
    if (Number.isNaN(date.getTime())) problems.push({ pointer: `/query/${name}`, reason: "must be an ISO 8601 time" });
    return date;
  };
  const vmid = query.vmid === undefined ? undefined : Number(query.vmid);
  if (vmid !== undefined && vmidProblem(vmid)) problems.push({ pointer: "/query/vmid", reason: vmidProblem(vmid)! });
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    problems.push({ pointer: "/query/limit", reason: "must be an integer from 1 to 1000" });
  if (query.kind !== undefined && !/^[a-z][a-z0-9-]{0,63}$/.test(query.kind))
    problems.push({ pointer: "/query/kind", reason: "must be an incident kind such as 'lock-blocked'" });
  const filter: IncidentFilter = {
    node: query.node,
    vmid,
    kind: query.kind,
    since: time("since"),
    until: time("until"),
    limit,
  };
  if (problems.length > 0) throw new RequestValidationError(problems);
  return filter;
}
