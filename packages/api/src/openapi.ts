import { Type, type TSchema } from "@sinclair/typebox";
import { ContainerSpec, LockstepError } from "@lockstep/shared";
import type { Scope } from "./auth/api-token.js";
import { requiredScope } from "./auth/route-scope.js";
import {
  ApplyContainerBody,
  ContainerList,
  ContainerRecord,
  ContainerView,
  ContainerWithOperation,
  CreateContainerBody,
} from "./containers/container-schemas.js";
import { DatabaseUnavailableError } from "./db/database-unavailable-error.js";
import {
  ContainerStateError,
  IdempotencyKeyInFlightError,
  IdempotencyKeyReusedError,
  MissingScopeError,
  NodeInMaintenanceError,
  PayloadTooLargeError,
  PolicyViolationError,
  RateLimitedError,
  RequestValidationError,
  ResourceConflictError,
  ResourceNotFoundError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
} from "./errors.js";
import { PATH_PARAMETERS } from "./http/path-params.js";
import { Problem, problemKind } from "./http/problem.js";
import { IncidentList } from "./incidents/incident-schemas.js";
import {
  EnterMaintenanceBody,
  LockReport,
  Node,
  NodeHealth,
  NodeList,
  RegisterNodeBody,
} from "./nodes/node-schemas.js";
import { Operation } from "./operations/operation-schemas.js";
import { Comparison, DriftList, ReconcileReport } from "./reconcile/reconcile-schemas.js";

/** An error a route may answer with, and when. Its status and problem type come from problem.ts. */
interface ProblemDoc {
  readonly error: unknown;
  readonly when: string;
}

interface RouteDoc {
  readonly method: "get" | "post" | "delete";
  /** OpenAPI form: `{id}`, not `:id`. */
  readonly path: string;
  readonly summary: string;
  /** The success status and its body: a component's name, or a media type of its own. */
  readonly ok:
    | { readonly status: 200 | 201 | 202; readonly schema: string }
    | { readonly status: 200; readonly mediaType: "text/plain" | "text/event-stream" };
  readonly body?: string;
  readonly idempotent?: boolean;
  /** Errors of this route beyond those every route with a token, a body or a key may give. */
  readonly errors?: readonly ProblemDoc[];
}

const problem = (error: unknown, when: string): ProblemDoc => ({ error, when });
const fieldError = new RequestValidationError([]);
const policyError = new PolicyViolationError([{ rule: "", pointer: "", reason: "" }]);

const TOKEN_ERRORS = [
  problem(
    new UnauthenticatedError(),
    "no bearer token, or one that is malformed, unknown or revoked (WWW-Authenticate)",
  ),
  problem(new RateLimitedError(1, 1), "the token sent more requests than its rate allows (Retry-After)"),
  problem(
    new DatabaseUnavailableError("connection-lost", 1, ""),
    "the database stayed unavailable through the API's own retries (Retry-After)",
  ),
  problem(new Error(), "an unexpected error; it was logged"),
];
const BODY_ERRORS = [
  problem(
    fieldError,
    "the body is not JSON, holds a member name twice, or breaks the schema: `errors` names each field",
  ),
  problem(new UnsupportedMediaTypeError(undefined), "the body is not declared application/json (or a +json type)"),
  problem(new PayloadTooLargeError(0), "the body is larger than maxBodyBytes"),
];
const KEY_ERRORS = [
  problem(fieldError, "the Idempotency-Key header is missing or malformed"),
  problem(new IdempotencyKeyInFlightError(), "the first request with this key is still being handled (Retry-After)"),
  problem(new IdempotencyKeyReusedError(), "this key was used for a different request, or by another token"),
];
const PATH_ERROR = problem(fieldError, "a path parameter breaks its rule");
const QUERY_ERROR = problem(fieldError, "a query parameter breaks its rule");
const notFound = (what: string) => problem(new ResourceNotFoundError(what), `no ${what} by that name`);
// What an agent's answer becomes: it is unreachable, its node's pct or cluster file system
// does not answer, or a command failed on the node.
const AGENT_ERRORS = [
  problem(new LockstepError("UNAVAILABLE", ""), "the node's agent cannot be reached"),
  problem(new LockstepError("HYPERVISOR_UNRESPONSIVE", ""), "pct or /etc/pve does not answer on the node"),
  problem(new LockstepError("CLUSTER_NO_QUORUM", ""), "the node's Proxmox cluster has no quorum"),
  problem(new LockstepError("COMMAND_FAILED", ""), "a command on the node failed"),
];

/** Every route the API serves. The test suite checks this list against the app's own routes. */
const ROUTES: readonly RouteDoc[] = [
  { method: "get", path: "/healthz", summary: "Liveness; needs no token", ok: { status: 200, schema: "Health" } },
  {
    method: "get",
    path: "/readyz",
    summary: "Readiness (the database answers); needs no token. 503 with the same shape when it does not",
    ok: { status: 200, schema: "Health" },
  },
  { method: "get", path: "/metrics", summary: "Prometheus metrics", ok: { status: 200, mediaType: "text/plain" } },
  { method: "get", path: "/openapi.json", summary: "This document", ok: { status: 200, schema: "OpenApiDocument" } },
  { method: "get", path: "/v1/nodes", summary: "Registered nodes", ok: { status: 200, schema: "NodeList" } },
  {
    method: "post",
    path: "/v1/nodes",
    summary: "Register a node's agent",
    ok: { status: 201, schema: "Node" },
    body: "RegisterNodeBody",
    idempotent: true,
    errors: [problem(new ResourceConflictError(""), "a node by that name is registered already")],
  },
  {
    method: "get",
    path: "/v1/nodes/{name}",
    summary: "One node",
    ok: { status: 200, schema: "Node" },
    errors: [PATH_ERROR, notFound("node")],
  },
  {
    method: "post",
    path: "/v1/nodes/{name}/maintenance",
    summary:
      "Put a node into maintenance: no new job starts on it, running ones finish, the reconciler only reports there",
    ok: { status: 200, schema: "Node" },
    body: "EnterMaintenanceBody",
    idempotent: true,
    errors: [PATH_ERROR, notFound("node")],
  },
  {
    method: "delete",
    path: "/v1/nodes/{name}/maintenance",
    summary: "Take a node out of maintenance: its waiting jobs start",
    ok: { status: 200, schema: "Node" },
    idempotent: true,
    errors: [PATH_ERROR, notFound("node")],
  },
  {
    method: "get",
    path: "/v1/nodes/{name}/health",
    summary: "The node's health, from its agent",
    ok: { status: 200, schema: "NodeHealth" },
    errors: [PATH_ERROR, notFound("node"), ...AGENT_ERRORS],
  },
  {
    method: "get",
    path: "/v1/nodes/{name}/locks/{vmid}",
    summary: "Who holds a container's config lock, and the verdict",
    ok: { status: 200, schema: "LockReport" },
    errors: [PATH_ERROR, notFound("node"), ...AGENT_ERRORS],
  },
  {
    method: "get",
    path: "/v1/nodes/{name}/containers/{vmid}",
    summary: "One VMID: the record, the node's truth and the verdict",
    ok: { status: 200, schema: "Comparison" },
    errors: [PATH_ERROR, notFound("node"), ...AGENT_ERRORS],
  },
  {
    method: "get",
    path: "/v1/containers",
    summary: "Container records",
    ok: { status: 200, schema: "ContainerList" },
    errors: [QUERY_ERROR],
  },
  {
    method: "post",
    path: "/v1/containers",
    summary: "Create a container from a spec (one record, one job)",
    ok: { status: 202, schema: "ContainerWithOperation" },
    body: "CreateContainerBody",
    idempotent: true,
    errors: [
      problem(fieldError, "the node is not registered, or the spec breaks a rule beyond its schema"),
      problem(
        new NodeInMaintenanceError("", "", null),
        "the node is in maintenance: place the container elsewhere, or retry later (Retry-After); nothing was stored under the key",
      ),
      problem(new LockstepError("RESOURCE_EXHAUSTED", ""), "no VMID, or no port on the node, is free"),
      problem(
        policyError,
        "the spec, the node or the token's container quota breaks the token's policy: `rule` names the first rule, `violations` each one at its field; nothing was written or stored under the key (docs/policy.md)",
      ),
    ],
  },
  {
    method: "get",
    path: "/v1/containers/{id}",
    summary: "One container record",
    ok: { status: 200, schema: "Container" },
    errors: [PATH_ERROR, notFound("container")],
  },
  {
    method: "delete",
    path: "/v1/containers/{id}",
    summary: "Delete a container",
    ok: { status: 202, schema: "ContainerWithOperation" },
    idempotent: true,
    errors: [PATH_ERROR, notFound("container")],
  },
  {
    method: "post",
    path: "/v1/containers/{id}/apply",
    summary: "Converge a container to its spec again, or to a new one",
    ok: { status: 202, schema: "ContainerWithOperation" },
    body: "ApplyContainerBody",
    idempotent: true,
    errors: [
      PATH_ERROR,
      problem(fieldError, "the new spec changes a field fixed at creation"),
      notFound("container"),
      problem(new ContainerStateError(""), "the container is being deleted or is deleted"),
      problem(
        policyError,
        "the spec breaks the token's policy: `rule` names the first rule, `violations` each one at its field; nothing was written or stored under the key",
      ),
    ],
  },
  {
    method: "get",
    path: "/v1/operations/{id}",
    summary: "One operation with its steps",
    ok: { status: 200, schema: "Operation" },
    errors: [PATH_ERROR, notFound("operation")],
  },
  {
    method: "get",
    path: "/v1/operations/{id}/events",
    summary:
      "The operation's steps as server-sent events: a `step` event (a Step) each time a step starts or ends, then one `operation` event (the Operation)",
    ok: { status: 200, mediaType: "text/event-stream" },
    errors: [PATH_ERROR, notFound("operation")],
  },
  {
    method: "get",
    path: "/v1/incidents",
    summary: "The incident log",
    ok: { status: 200, schema: "IncidentList" },
    errors: [QUERY_ERROR],
  },
  {
    method: "post",
    path: "/v1/reconcile",
    summary: "Run a reconcile pass now",
    ok: { status: 200, schema: "ReconcileReport" },
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/drift",
    summary: "Open differences between records and nodes",
    ok: { status: 200, schema: "DriftList" },
    errors: [QUERY_ERROR],
  },
];

// Bodies that may be left out (an empty body is an empty object).
const OPTIONAL_BODIES = new Set(["ApplyContainerBody", "EnterMaintenanceBody"]);

const Health = Type.Object(
  { status: Type.String({ description: "ok, ready, or why not" }) },
  { additionalProperties: false },
);
const OpenApiDocument = Type.Object({ openapi: Type.Literal("3.1.0") }, { description: "this document" });

const REQUEST_SCHEMAS: Record<string, TSchema> = {
  ContainerSpec,
  CreateContainerBody,
  ApplyContainerBody,
  RegisterNodeBody,
  EnterMaintenanceBody,
};
const RESPONSE_SCHEMAS: Record<string, TSchema> = {
  Health,
  OpenApiDocument,
  Problem,
  ContainerRecord,
  Container: ContainerView,
  ContainerList,
  ContainerWithOperation,
  Operation,
  Node,
  NodeList,
  NodeHealth,
  LockReport,
  IncidentList,
  ReconcileReport,
  DriftList,
  Comparison,
};

/**
 * The API as OpenAPI 3.1. Request bodies are described by the TypeBox schemas that validate
 * them (JSON Schema 2020-12, which OpenAPI 3.1 uses as is), with every field the server fills
 * with its default left out of `required`; each route lists its success body and every error
 * status it can answer, with the problem types behind each.
 */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) paths[route.path] = { ...paths[route.path], [route.method]: operation(route) };
  return {
    openapi: "3.1.0",
    info: {
      title: "Lockstep API",
      version: "1",
      description: "Provisioning of LXC containers on Proxmox VE: one request, one record, one job, one container.",
    },
    components: {
      schemas: {
        ...Object.fromEntries(
          Object.entries(REQUEST_SCHEMAS).map(([name, schema]) => [
            name,
            specByReference(defaultsOptional(plain(schema)), name),
          ]),
        ),
        ...Object.fromEntries(Object.entries(RESPONSE_SCHEMAS).map(([name, schema]) => [name, plain(schema)])),
      },
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "lockstep-api token create --scope read|operator|admin",
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

function operation(route: RouteDoc): Record<string, unknown> {
  const open = route.path === "/healthz" || route.path === "/readyz";
  const scope: Scope = requiredScope(route.method.toUpperCase(), route.path);
  const params: unknown[] = [...route.path.matchAll(/\{(\w+)\}/g)].map(
    (m) => PATH_PARAMETERS[m[1] as keyof typeof PATH_PARAMETERS],
  );
  if (route.idempotent)
    params.push({
      name: "Idempotency-Key",
      in: "header",
      required: true,
      schema: { type: "string", minLength: 1, maxLength: 255 },
    });
  return {
    summary: route.summary,
    ...(open ? { security: [] } : { description: `Needs a token with scope '${scope}'.` }),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: !OPTIONAL_BODIES.has(route.body),
            content: { "application/json": { schema: ref(route.body) } },
          },
        }
      : {}),
    responses: { ...success(route), ...(open ? readiness(route) : errorResponses(route)) },
  };
}

function success(route: RouteDoc): Record<string, unknown> {
  const content =
    "schema" in route.ok
      ? { "application/json": { schema: ref(route.ok.schema) } }
      : { [route.ok.mediaType]: { schema: { type: "string" } } };
  return { [route.ok.status]: { description: "Success", content } };
}

function readiness(route: RouteDoc): Record<string, unknown> {
  return route.path === "/readyz"
    ? {
        503: {
          description: "The database does not answer",
          content: { "application/json": { schema: ref("Health") } },
        },
      }
    : {};
}

/** Each error status the route can answer, with the problem types behind it and when each comes. */
function errorResponses(route: RouteDoc): Record<string, unknown> {
  const scope = requiredScope(route.method.toUpperCase(), route.path);
  const scopeError =
    scope === "read" ? [] : [problem(new MissingScopeError(scope, "read"), `the token's scope is below '${scope}'`)];
  const docs = [
    ...(route.errors ?? []),
    ...(route.body ? BODY_ERRORS : []),
    ...(route.idempotent ? KEY_ERRORS : []),
    ...scopeError,
    ...TOKEN_ERRORS,
  ];
  const byStatus = new Map<number, Map<string, string[]>>();
  for (const doc of docs) {
    const { status, type } = problemKind(doc.error);
    const types = byStatus.get(status) ?? new Map<string, string[]>();
    types.set(type, [...(types.get(type) ?? []), doc.when]);
    byStatus.set(status, types);
  }
  const sorted = [...byStatus].sort(([a], [b]) => a - b);
  return Object.fromEntries(
    sorted.map(([status, types]) => [
      status,
      {
        description: [...types].map(([type, whens]) => `\`${type}\`: ${whens.join("; ")}`).join("\n\n"),
        content: {
          "application/problem+json": {
            schema: {
              allOf: [ref("Problem")],
              properties: { status: { const: status }, type: { enum: [...types.keys()] } },
            },
          },
        },
      },
    ]),
  );
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A TypeBox schema as plain JSON (TypeBox marks its objects with symbols). */
function plain(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

/**
 * The container spec once, as its own component: a body that holds it refers to it (two copies
 * with one `$id` would be one schema resource defined twice).
 */
function specByReference(schema: Record<string, unknown>, name: string): Record<string, unknown> {
  const walk = (node: unknown, root: boolean): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n, false));
    if (node === null || typeof node !== "object") return node;
    if (!root && (node as { $id?: unknown }).$id === ContainerSpec.$id) return ref("ContainerSpec");
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, false)]));
  };
  return walk(schema, name === "ContainerSpec") as Record<string, unknown>;
}

/**
 * A request schema as a client may send it: a field with a `default` is filled in by the
 * server (validate-body.ts applies the defaults before it checks), so it is not `required`.
 */
function defaultsOptional(schema: unknown): Record<string, unknown> {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== "object") return node;
    const entries = Object.entries(node as Record<string, unknown>).map(([k, v]) => [k, walk(v)] as const);
    const copy = Object.fromEntries(entries) as Record<string, unknown>;
    const properties = copy.properties as Record<string, { default?: unknown }> | undefined;
    if (Array.isArray(copy.required) && properties) {
      const required = (copy.required as string[]).filter((name) => properties[name]?.default === undefined);
      if (required.length > 0) copy.required = required;
      else delete copy.required;
    }
    return copy;
  };
  return walk(schema) as Record<string, unknown>;
}

/** `/v1/containers/:id` → `/v1/containers/{id}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:(\w+)/g, "{$1}");
}
