import type { TSchema } from "@sinclair/typebox";
import { ContainerSpec } from "@lockstep/shared";
import { ApplyContainerBody, CreateContainerBody } from "../containers/container-schemas.js";
import { EnterMaintenanceBody, RegisterNodeBody } from "../nodes/node-schemas.js";
import type { Scope } from "../auth/api-token.js";
import { requiredScope } from "../auth/route-scope.js";
import { PATH_PARAMETERS } from "./path-params.js";

interface RouteDoc {
  readonly method: "get" | "post" | "delete";
  /** OpenAPI form: `{id}`, not `:id`. */
  readonly path: string;
  readonly summary: string;
  readonly body?: string;
  readonly idempotent?: boolean;
  readonly stream?: boolean;
}

/** Every route the API serves. The test suite checks this list against the app's own routes. */
const ROUTES: readonly RouteDoc[] = [
  { method: "get", path: "/healthz", summary: "Liveness; needs no token" },
  { method: "get", path: "/readyz", summary: "Readiness (the database answers); needs no token" },
  { method: "get", path: "/metrics", summary: "Prometheus metrics" },
  { method: "get", path: "/openapi.json", summary: "This document" },
  { method: "get", path: "/v1/nodes", summary: "Registered nodes" },
  { method: "post", path: "/v1/nodes", summary: "Register a node's agent", body: "RegisterNodeBody", idempotent: true },
  { method: "get", path: "/v1/nodes/{name}", summary: "One node" },
  { method: "post", path: "/v1/nodes/{name}/maintenance", summary: "Put a node into maintenance: no new job starts on it, running ones finish, the reconciler only reports there", body: "EnterMaintenanceBody", idempotent: true },
  { method: "delete", path: "/v1/nodes/{name}/maintenance", summary: "Take a node out of maintenance: its waiting jobs start", idempotent: true },
  { method: "get", path: "/v1/nodes/{name}/health", summary: "The node's health, from its agent" },
  { method: "get", path: "/v1/nodes/{name}/locks/{vmid}", summary: "Who holds a container's config lock, and the verdict" },
  { method: "get", path: "/v1/nodes/{name}/containers/{vmid}", summary: "One VMID: the record, the node's truth and the verdict" },
  { method: "get", path: "/v1/containers", summary: "Container records" },
  { method: "post", path: "/v1/containers", summary: "Create a container from a spec (one record, one job)", body: "CreateContainerBody", idempotent: true },
  { method: "get", path: "/v1/containers/{id}", summary: "One container record" },
  { method: "delete", path: "/v1/containers/{id}", summary: "Delete a container", idempotent: true },
  { method: "post", path: "/v1/containers/{id}/apply", summary: "Converge a container to its spec again, or to a new one", body: "ApplyContainerBody", idempotent: true },
  { method: "get", path: "/v1/operations/{id}", summary: "One operation with its steps" },
  { method: "get", path: "/v1/operations/{id}/events", summary: "The operation's steps as server-sent events", stream: true },
  { method: "get", path: "/v1/incidents", summary: "The incident log" },
  { method: "post", path: "/v1/reconcile", summary: "Run a reconcile pass now", idempotent: true },
  { method: "get", path: "/v1/drift", summary: "Open differences between records and nodes" },
];

// Bodies that may be left out (an empty body is an empty object).
const OPTIONAL_BODIES = new Set(["ApplyContainerBody", "EnterMaintenanceBody"]);

const SCHEMAS: Record<string, TSchema> = { ContainerSpec, CreateContainerBody, ApplyContainerBody, RegisterNodeBody, EnterMaintenanceBody };


/**
 * The API as OpenAPI 3.1, built from the same TypeBox schemas that validate request bodies
 * (JSON Schema 2020-12, which OpenAPI 3.1 uses as is), so the two cannot drift apart.
 */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) paths[route.path] = { ...paths[route.path], [route.method]: operation(route) };
  return {
    openapi: "3.1.0",
    info: { title: "Lockstep API", version: "1", description: "Provisioning of LXC containers on Proxmox VE: one request, one record, one job, one container." },
    components: {
      schemas: Object.fromEntries(Object.entries(SCHEMAS).map(([name, schema]) => [name, plain(schema)])),
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "lockstep-api token create --scope read|operator|admin" } },
      responses: { Problem: { description: "RFC 9457 problem document with a stable `code`", content: { "application/problem+json": { schema: { type: "object", properties: { type: { type: "string" }, title: { type: "string" }, status: { type: "integer" }, detail: { type: "string" }, code: { type: "string" }, errors: { type: "array" } } } } } } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

function operation(route: RouteDoc): Record<string, unknown> {
  const open = route.path === "/healthz" || route.path === "/readyz";
  const scope: Scope = requiredScope(route.method.toUpperCase(), route.path);
  const params: unknown[] = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => PATH_PARAMETERS[m[1] as keyof typeof PATH_PARAMETERS]);
  if (route.idempotent) params.push({ name: "Idempotency-Key", in: "header", required: true, schema: { type: "string", minLength: 1, maxLength: 255 } });
  return {
    summary: route.summary,
    ...(open ? { security: [] } : { description: `Needs a token with scope '${scope}'.` }),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.body ? { requestBody: { required: !OPTIONAL_BODIES.has(route.body), content: { "application/json": { schema: { $ref: `#/components/schemas/${route.body}` } } } } } : {}),
    responses: {
      "2XX": { description: "Success", content: { [route.stream ? "text/event-stream" : route.path === "/metrics" ? "text/plain" : "application/json"]: {} } },
      default: { $ref: "#/components/responses/Problem" },
    },
  };
}

/** A TypeBox schema as plain JSON (TypeBox marks its objects with symbols). */
function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema));
}

/** `/v1/containers/:id` → `/v1/containers/{id}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:(\w+)/g, "{$1}");
}
