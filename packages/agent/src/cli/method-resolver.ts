import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { UsageError } from "./commands.js";

/** A method's full name as gRPC paths spell it: `package.Service/Method`. */
export function methodName(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

/**
 * The one method `spec` names: `Method`, `Service/Method` or fully qualified
 * (`package.Service/Method`; a dot may stand for the slash, and a leading slash is allowed).
 * Unknown: an error with the nearest names; more than one: an error listing them.
 */
export function resolveMethod(services: readonly DescService[], spec: string): DescMethod {
  const { service, method } = parseSpec(spec);
  const matches = services
    .filter((s) => service === null || s.typeName === service || s.name === service)
    .flatMap((s) => s.methods.filter((m) => m.name === method));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new UsageError(`method '${spec}' is ambiguous: ${matches.map(methodName).join(", ")}; name its service too`);
  const near = nearMatches(services, spec);
  throw new UsageError(
    `unknown method '${spec}'${near.length ? `; did you mean ${near.join(", ")}?` : ""} (lockstep-node describe lists them)`,
  );
}

function parseSpec(spec: string): { service: string | null; method: string } {
  const name = spec.replace(/^\//, "");
  const cut = name.includes("/") ? name.lastIndexOf("/") : name.lastIndexOf(".");
  return cut < 0 ? { service: null, method: name } : { service: name.slice(0, cut), method: name.slice(cut + 1) };
}

/** The methods of a service the name names, then up to five methods whose names are close to it. */
function nearMatches(services: readonly DescService[], spec: string): string[] {
  const typed = parseSpec(spec).method.toLowerCase();
  const whole = spec.replace(/^\//, "").toLowerCase();
  const ofService = services
    .filter((s) => s.typeName.toLowerCase() === whole || s.name.toLowerCase() === typed)
    .flatMap((s) => s.methods);
  const close = services
    .flatMap((s) => s.methods)
    .map((m) => ({ m, d: closeness(m.name.toLowerCase(), typed) }))
    .filter((c): c is { m: DescMethod; d: number } => c.d !== null)
    .sort((a, b) => a.d - b.d)
    .slice(0, 5)
    .map(({ m }) => m);
  return [...new Set([...ofService, ...close].map(methodName))];
}

/** How far apart two names are; null when too far to suggest. One contained in the other is close. */
function closeness(name: string, typed: string): number | null {
  if (name.includes(typed) || typed.includes(name)) return Math.abs(name.length - typed.length) / 100;
  const d = editDistance(name, typed);
  return d <= Math.max(2, Math.floor(typed.length / 3)) ? d : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}
