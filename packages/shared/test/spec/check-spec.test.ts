import { readFileSync } from "node:fs";
import test from "ava";
import { checkSpec, fixedFieldChanges, type ResolvedSpec } from "../../src/index.js";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const minimal = { hostname: "web-1", source: { template: TEMPLATE } };

function problems(raw: unknown): { pointer: string; reason: string }[] {
  const checked = checkSpec(raw);
  return checked.ok ? [] : checked.problems;
}

function resolved(raw: unknown): ResolvedSpec {
  const checked = checkSpec(raw);
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

test("a spec with only a hostname and a source gets every default", (t) => {
  const spec = resolved(minimal);
  t.deepEqual(spec.resources, { cores: 1, memory_mb: 512, swap_mb: 512, disk_gb: 8, storage: "local-lvm" });
  t.deepEqual(spec.network, { bridge: "vmbr0", ip: "dhcp", firewall: false });
  t.deepEqual(spec.security, { unprivileged: true, nesting: false, keyctl: false });
  t.deepEqual([spec.features, spec.files, spec.services, spec.health_checks], [[], [], [], []]);
  t.is(spec.snapshot_retention, undefined);
});

test("a wrong field is refused with its pointer and the reason", (t) => {
  const found = problems({ ...minimal, resources: { cores: 0 }, extra: 1 });
  t.true(found.some((p) => p.pointer === "/resources/cores" && /1/.test(p.reason)));
  t.true(found.some((p) => p.pointer === "/extra"));
});

test("a shipped feature the spec names must exist", (t) => {
  t.regex(
    problems({ ...minimal, features: ["kubernetes"] })
      .map((p) => `${p.pointer} ${p.reason}`)
      .join(),
    /^\/features\/0 is not a shipped feature/,
  );
});

test("the docker feature needs nesting", (t) => {
  t.deepEqual(problems({ ...minimal, features: ["docker"] }), [
    { pointer: "/security/nesting", reason: "must be true for the 'docker' feature" },
  ]);
  t.deepEqual(problems({ ...minimal, features: ["docker"], security: { nesting: true } }), []);
});

test("a custom feature may not take a shipped feature's name", (t) => {
  t.deepEqual(
    problems({ ...minimal, features: [{ name: "nginx", guard: ["true"], action: ["true"] }] }).map((p) => p.pointer),
    ["/features/0/name"],
  );
});

test("a file path must be absolute, normalized and outside Lockstep's own directory", (t) => {
  const files = ["/etc/../shadow", "/etc//x", "/var/lib/lockstep/x"].map((path) => ({ path, content: "" }));
  t.deepEqual(
    problems({ ...minimal, files })
      .map((p) => p.pointer)
      .sort(),
    ["/files/0/path", "/files/1/path", "/files/2/path"],
  );
  t.deepEqual(
    problems({ ...minimal, files: [{ path: "relative", content: "" }] }).map((p) => p.pointer),
    ["/files/0/path"],
  );
});

test("two entries with one name are refused at the second", (t) => {
  const found = problems({
    ...minimal,
    files: [
      { path: "/etc/a", content: "" },
      { path: "/etc/a", content: "x" },
    ],
    health_checks: [
      { name: "up", command: ["true"] },
      { name: "up", command: ["false"] },
    ],
  });
  t.deepEqual(found.map((p) => p.pointer).sort(), ["/files/1", "/health_checks/1"]);
});

test("a gateway goes only with a static address", (t) => {
  t.deepEqual(
    problems({ ...minimal, network: { gateway: "10.0.0.1" } }).map((p) => p.pointer),
    ["/network/gateway"],
  );
  t.deepEqual(problems({ ...minimal, network: { ip: "10.0.0.5/24", gateway: "10.0.0.1" } }), []);
  t.deepEqual(
    problems({ ...minimal, network: { ip: "10.0.0.300/24" } }).map((p) => p.pointer),
    ["/network/ip"],
  );
});

test("source, disk, storage and privilege cannot change after creation; the rest can", (t) => {
  const before = resolved(minimal);
  const after = resolved({
    hostname: "web-2",
    source: { clone: { vmid: 9000 } },
    resources: { disk_gb: 16, cores: 4 },
    security: { unprivileged: false },
  });
  t.deepEqual(
    fixedFieldChanges(before, after).map((p) => p.pointer),
    ["/source", "/resources/disk_gb", "/security/unprivileged"],
  );
  t.deepEqual(fixedFieldChanges(before, resolved({ ...minimal, hostname: "web-2", resources: { cores: 4 } })), []);
});

test("the published JSON Schema holds the validator's own rules", (t) => {
  const published = JSON.parse(
    readFileSync(new URL("../../../../schemas/container-spec.schema.json", import.meta.url), "utf8"),
  ) as { required: string[]; properties: Record<string, unknown> };
  t.deepEqual(published.required, ["hostname", "source"]);
  t.deepEqual(
    Object.keys(published.properties).sort(),
    Object.keys(
      resolved({ ...minimal, $schema: "x", script: { content: "true" }, snapshot_retention: { keep_last: 1 } }),
    ).sort(),
  );
});

test("the example spec in the repository is valid", (t) => {
  const example = JSON.parse(
    readFileSync(new URL("../../../../examples/web-app.spec.json", import.meta.url), "utf8"),
  ) as unknown;
  t.deepEqual(problems(example), []);
});
