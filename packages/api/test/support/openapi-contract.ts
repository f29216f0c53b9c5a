import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { openApiDocument } from "../../src/openapi.js";

interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
}

const DOC_ID = "lockstep-openapi";
const doc = openApiDocument() as unknown as Doc;
// The document is one schema resource, so `#/components/...` inside it resolves; `strict`
// off, because its top level holds OpenAPI's own members beside JSON Schema.
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(doc, DOC_ID);
const templates = Object.keys(doc.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`),
}));
const validators = new Map<string, ValidateFunction>();

/** A response's route in the document: its path template and method, or null for a route it does not describe. */
export function documentedRoute(method: string, url: string): { template: string; method: string } | null {
  const path = new URL(url, "http://api.invalid").pathname;
  const template = templates.find((t) => t.pattern.test(path))?.template;
  const lower = method.toLowerCase();
  return template && doc.paths[template]![lower] ? { template, method: lower } : null;
}

/**
 * Checks a real response against the OpenAPI document: its status is one the route lists, its
 * content type is the one listed for that status, and a JSON body matches the listed schema.
 * Throws, naming each difference. Routes the document does not describe (an unknown path
 * answers 404) are not checked; neither is a server-sent-event stream's body.
 */
export async function checkResponse(method: string, url: string, res: Response): Promise<void> {
  const route = documentedRoute(method, url);
  if (!route) return;
  const where = `${method.toUpperCase()} ${route.template} answered ${res.status}`;
  const responses = doc.paths[route.template]![route.method]!.responses;
  const listed = responses[String(res.status)];
  if (!listed)
    throw new Error(
      `${where}, a status the OpenAPI document does not list for it (it lists ${Object.keys(responses).join(", ")})`,
    );
  const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  if (!listed.content?.[mediaType])
    throw new Error(
      `${where} as '${mediaType}', which the document does not list (it lists ${Object.keys(listed.content ?? {}).join(", ")})`,
    );
  if (!/[/+]json$/.test(mediaType)) return;
  const body: unknown = await res.clone().json();
  const validate = validator(route.template, route.method, res.status, mediaType);
  if (!validate(body))
    throw new Error(
      `${where} with a body the document's schema refuses: ${ajv.errorsText(validate.errors, { separator: "; " })}\n${JSON.stringify(body).slice(0, 2000)}`,
    );
}

function validator(template: string, method: string, status: number, mediaType: string): ValidateFunction {
  const pointer = ["paths", template, method, "responses", String(status), "content", mediaType, "schema"]
    .map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1"))
    .join("/");
  const key = `${DOC_ID}#/${pointer}`;
  if (!validators.has(key)) validators.set(key, ajv.compile({ $ref: key }));
  return validators.get(key)!;
}
