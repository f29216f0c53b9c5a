import { Value } from "@sinclair/typebox/value";
import { containerPathProblem } from "../validation/rules.js";
import { ContainerSpec, type CustomFeature, type ResolvedSpec } from "./container-spec.js";
import { SHIPPED_FEATURES } from "./shipped-features.js";

/** One reason a spec is refused, at the JSON pointer of the field (relative to the spec). */
export interface SpecProblem {
  readonly pointer: string;
  readonly reason: string;
}

export type SpecCheck =
  { readonly ok: true; readonly spec: ResolvedSpec } | { readonly ok: false; readonly problems: SpecProblem[] };

const MAX_PROBLEMS = 20;

/** Where Lockstep keeps its own files inside a container; a spec's files stay out of it. */
export const LOCKSTEP_DIR = "/var/lib/lockstep";

/**
 * Validates a spec against its schema, applies its defaults, then checks what a schema cannot
 * say: unique names, normalized paths, known shipped features and what they need.
 */
export function checkSpec(raw: unknown): SpecCheck {
  const value = Value.Default(ContainerSpec, Value.Clone(raw));
  if (!Value.Check(ContainerSpec, value)) {
    return {
      ok: false,
      problems: [...Value.Errors(ContainerSpec, value)]
        .slice(0, MAX_PROBLEMS)
        .map((e) => ({ pointer: e.path, reason: e.message })),
    };
  }
  const spec = value as ResolvedSpec;
  const problems = [...networkProblems(spec), ...featureProblems(spec), ...fileProblems(spec), ...uniqueProblems(spec)];
  return problems.length > 0 ? { ok: false, problems: problems.slice(0, MAX_PROBLEMS) } : { ok: true, spec };
}

/** The spec's features with shipped ones spelled out, in the spec's order. */
export function resolveFeatures(spec: ResolvedSpec): CustomFeature[] {
  return spec.features.map((f) => (typeof f === "string" ? SHIPPED_FEATURES.get(f)! : f));
}

/** What can be declared only at creation, compared between a container's spec and a new one. */
export function fixedFieldChanges(before: ResolvedSpec, after: ResolvedSpec): SpecProblem[] {
  const fixed: [string, unknown, unknown][] = [
    ["/source", before.source, after.source],
    ["/resources/disk_gb", before.resources.disk_gb, after.resources.disk_gb],
    ["/resources/storage", before.resources.storage, after.resources.storage],
    ["/security/unprivileged", before.security.unprivileged, after.security.unprivileged],
  ];
  return fixed
    .filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b))
    .map(([pointer]) => ({ pointer, reason: "is fixed at creation and cannot change" }));
}

function networkProblems(spec: ResolvedSpec): SpecProblem[] {
  const { ip, gateway } = spec.network;
  const problems: SpecProblem[] = [];
  const cidr = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(ip);
  if (cidr && (cidr.slice(1, 5).some((octet) => Number(octet) > 255) || Number(cidr[5]) > 32))
    problems.push({ pointer: "/network/ip", reason: "must be a valid IPv4 address with a prefix of 0 to 32" });
  if (gateway !== undefined && !cidr)
    problems.push({ pointer: "/network/gateway", reason: "is only allowed with a static ip" });
  if (gateway !== undefined && gateway.split(".").some((octet) => Number(octet) > 255))
    problems.push({ pointer: "/network/gateway", reason: "must be a valid IPv4 address" });
  return problems;
}

function featureProblems(spec: ResolvedSpec): SpecProblem[] {
  return spec.features.flatMap((f, i): SpecProblem[] => {
    if (typeof f === "string") {
      const shipped = SHIPPED_FEATURES.get(f);
      if (!shipped)
        return [
          {
            pointer: `/features/${i}`,
            reason: `is not a shipped feature (${[...SHIPPED_FEATURES.keys()].join(", ")}); declare your own with name, guard and action`,
          },
        ];
      const need = shipped.unmetNeed?.(spec);
      return need ? [need] : [];
    }
    return SHIPPED_FEATURES.has(f.name)
      ? [{ pointer: `/features/${i}/name`, reason: `'${f.name}' is a shipped feature; give yours another name` }]
      : [];
  });
}

function fileProblems(spec: ResolvedSpec): SpecProblem[] {
  return spec.files.flatMap((file, i): SpecProblem[] => {
    const problem = containerPathProblem(file.path);
    if (problem) return [{ pointer: `/files/${i}/path`, reason: problem }];
    if (file.path === LOCKSTEP_DIR || file.path.startsWith(`${LOCKSTEP_DIR}/`))
      return [
        { pointer: `/files/${i}/path`, reason: `must not be under ${LOCKSTEP_DIR}, which Lockstep keeps for itself` },
      ];
    if (spec.services.some((s) => file.path === unitPath(s.unit)))
      return [
        { pointer: `/files/${i}/path`, reason: "is a declared service's unit file; declare it once, under services" },
      ];
    return [];
  });
}

function uniqueProblems(spec: ResolvedSpec): SpecProblem[] {
  return [
    ...duplicates(
      resolveFeatures(spec).map((f) => f?.name),
      "/features",
      "name",
    ),
    ...duplicates(
      spec.files.map((f) => f.path),
      "/files",
      "path",
    ),
    ...duplicates(
      spec.services.map((s) => s.unit),
      "/services",
      "unit",
    ),
    ...duplicates(
      spec.health_checks.map((h) => h.name),
      "/health_checks",
      "name",
    ),
  ];
}

function duplicates(values: (string | undefined)[], list: string, field: string): SpecProblem[] {
  return values.flatMap((v, i) =>
    v !== undefined && values.indexOf(v) < i ? [{ pointer: `${list}/${i}`, reason: `repeats ${field} '${v}'` }] : [],
  );
}

/** Where the agent's EnsureService writes a unit. */
function unitPath(unit: string): string {
  return `/etc/systemd/system/${unit}`;
}
