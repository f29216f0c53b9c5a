import type { Scope } from "./api-token.js";

/**
 * The scope a request needs, from its method and path alone: decided before any route
 * runs, so a missing scope is refused the same way whether the resource exists or not.
 * Registering a node decides where the API sends its client certificate, and maintenance
 * stops a node's work and its repairs: admin only.
 */
export function requiredScope(method: string, path: string): Scope {
  if (method === "GET" || method === "HEAD") return "read";
  if (method === "POST" && /^\/v1\/nodes\/?$/.test(path)) return "admin";
  if (/^\/v1\/nodes\/[^/]+\/maintenance\/?$/.test(path)) return "admin";
  return "operator";
}
