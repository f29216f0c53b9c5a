import { Type, type Static, type TSchema } from "@sinclair/typebox";

/**
 * The declared state of one container: the single source of both the validator and the
 * published JSON Schema (`schemas/container-spec.schema.json`, written by
 * `scripts/spec-schema.ts`). Patterns follow Proxmox's own rules where it has one.
 */

const Hostname = Type.String({
  maxLength: 253,
  pattern: "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",
  description: "DNS name of the container",
});
const Storage = Type.String({ pattern: "^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$", description: "Proxmox storage ID" });
const Vmid = Type.Integer({ minimum: 100, maximum: 999_999_999 });
const SnapshotName = Type.String({ minLength: 2, maxLength: 40, pattern: "^[a-zA-Z][a-zA-Z0-9_-]+$" });
// Commands inside the container are argv arrays: they never meet a shell unless the spec names one.
const argv = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 4096, pattern: "^[^\\u0000]*$" }), {
    minItems: 1,
    maxItems: 256,
    description,
  });
const TimeoutMs = Type.Integer({ minimum: 1_000, maximum: 3_600_000 });
const FeatureName = Type.String({
  pattern: "^[a-z][a-z0-9-]{0,62}$",
  description: "feature name: lowercase letters, digits and '-'",
});
const ContainerPath = Type.String({
  minLength: 2,
  maxLength: 4096,
  pattern: "^/[A-Za-z0-9._@%+=:,~/-]*$",
  description: "absolute, normalized path inside the container: letters, digits and . _ - + @ % = : , ~ /",
});
const UserName = Type.String({ pattern: "^[a-z_][a-z0-9_-]{0,31}$" });

/** A section that may be left out: absent means all of its defaults. */
function withDefault<T extends TSchema>(schema: T, value: unknown): T {
  return { ...schema, default: value };
}

const TemplateSource = Type.Object(
  {
    template: Type.String({
      maxLength: 255,
      pattern: "^[a-zA-Z][a-zA-Z0-9_.-]*:vztmpl/[a-zA-Z0-9_.+-]+\\.tar\\.(gz|xz|zst)$",
      description: "template volume",
    }),
  },
  { additionalProperties: false },
);

const CloneSource = Type.Object(
  {
    clone: Type.Object(
      {
        vmid: Vmid,
        snapshot: Type.Optional(SnapshotName),
        full: Type.Boolean({ default: true, description: "a full copy rather than a linked clone" }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const Resources = Type.Object(
  {
    cores: Type.Integer({ minimum: 1, maximum: 512, default: 1 }),
    memory_mb: Type.Integer({ minimum: 16, maximum: 4_194_304, default: 512 }),
    swap_mb: Type.Integer({ minimum: 0, maximum: 4_194_304, default: 512 }),
    disk_gb: Type.Integer({ minimum: 1, maximum: 131_072, default: 8, description: "fixed at creation" }),
    storage: Type.String({ ...Storage, default: "local-lvm", description: "fixed at creation" }),
  },
  { additionalProperties: false },
);

const Network = Type.Object(
  {
    bridge: Type.String({ pattern: "^[a-zA-Z][a-zA-Z0-9_.-]{0,15}$", default: "vmbr0" }),
    ip: Type.String({
      pattern: "^(dhcp|manual|(\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2})$",
      default: "dhcp",
      description: "'dhcp', 'manual' or an IPv4 CIDR",
    }),
    gateway: Type.Optional(Type.String({ pattern: "^(\\d{1,3}\\.){3}\\d{1,3}$" })),
    vlan: Type.Optional(Type.Integer({ minimum: 1, maximum: 4094 })),
    firewall: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);

const Security = Type.Object(
  {
    unprivileged: Type.Boolean({ default: true, description: "fixed at creation" }),
    apparmor_profile: Type.Optional(
      Type.String({
        pattern: "^(unconfined|lxc-[a-z0-9_-]{1,60})$",
        description: "raw lxc.apparmor.profile; absent: Proxmox's generated profile",
      }),
    ),
    nesting: Type.Boolean({ default: false }),
    keyctl: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);

export const CustomFeature = Type.Object(
  {
    name: FeatureName,
    guard: argv("exits 0 when the feature is in place"),
    action: argv("puts the feature in place; runs only when the guard fails"),
    timeout_ms: Type.Optional(TimeoutMs),
  },
  { additionalProperties: false },
);

const FileEntry = Type.Object(
  {
    path: ContainerPath,
    content: Type.String({ maxLength: 1_048_576 }),
    mode: Type.String({ pattern: "^0?[0-7]{3}$", default: "0644" }),
    user: Type.Optional(UserName),
    group: Type.Optional(UserName),
  },
  { additionalProperties: false },
);

const ServiceEntry = Type.Object(
  {
    unit: Type.String({
      maxLength: 255,
      pattern: "^[a-zA-Z0-9:_.@][a-zA-Z0-9:_.@-]*\\.(service|socket|timer|target|path|mount)$",
    }),
    content: Type.String({ minLength: 1, maxLength: 262_144 }),
    enable: Type.Boolean({ default: true }),
    start: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

const Script = Type.Object(
  {
    content: Type.String({
      minLength: 1,
      maxLength: 1_048_576,
      description: "run with /bin/sh once per distinct content",
    }),
    timeout_ms: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 600_000 }),
  },
  { additionalProperties: false },
);

export const HealthCheck = Type.Object(
  {
    name: FeatureName,
    command: argv("exits 0 when healthy"),
    attempts: Type.Integer({ minimum: 1, maximum: 600, default: 10 }),
    interval_ms: Type.Integer({ minimum: 0, maximum: 600_000, default: 1_000 }),
    timeout_ms: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 10_000 }),
  },
  { additionalProperties: false },
);

const SnapshotRetention = Type.Object(
  { keep_last: Type.Integer({ minimum: 1, maximum: 1000 }) },
  { additionalProperties: false },
);

export const ContainerSpec = Type.Object(
  {
    // Lets an editor find this schema; it means nothing else.
    $schema: Type.Optional(Type.String({ maxLength: 1024 })),
    hostname: Hostname,
    source: Type.Union([TemplateSource, CloneSource], { description: "fixed at creation" }),
    resources: Type.Optional(withDefault(Resources, {})),
    network: Type.Optional(withDefault(Network, {})),
    security: Type.Optional(withDefault(Security, {})),
    onboot: Type.Boolean({ default: false }),
    features: Type.Array(Type.Union([FeatureName, CustomFeature]), {
      maxItems: 64,
      default: [],
      description: "a shipped feature by name, or your own",
    }),
    files: Type.Array(FileEntry, { maxItems: 256, default: [] }),
    services: Type.Array(ServiceEntry, { maxItems: 64, default: [] }),
    script: Type.Optional(Script),
    health_checks: Type.Array(HealthCheck, { maxItems: 32, default: [] }),
    snapshot_retention: Type.Optional(SnapshotRetention),
  },
  {
    additionalProperties: false,
    $id: "https://lockstep.dev/schemas/container-spec.schema.json",
    title: "Lockstep container spec",
  },
);

/** A spec as written: optional sections may be absent. */
export type ContainerSpec = Static<typeof ContainerSpec>;

/** A checked spec, every default applied. */
export type ResolvedSpec = ContainerSpec & {
  readonly resources: Static<typeof Resources>;
  readonly network: Static<typeof Network>;
  readonly security: Static<typeof Security>;
};
export type CustomFeature = Static<typeof CustomFeature>;
export type HealthCheck = Static<typeof HealthCheck>;
