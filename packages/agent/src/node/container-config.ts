import { decodeText } from "../pct/decode-text.js";

/** One section of a container config: the main one, a snapshot's, or the pending one. */
export interface ConfigSection {
  readonly values: Readonly<Record<string, string>>;
  readonly description: string;
}

/**
 * The `[pve:pending]` section: values `pct set` stored for a running container that Proxmox
 * could not hot-apply, and keys queued for deletion (`delete:`). Both take effect at the next
 * start (pve-container src/PVE/LXC.pm vm_start -> vmconfig_apply_pending).
 */
export interface PendingSection extends ConfigSection {
  /** Keys pending deletion; `delete` itself is never among `values`. */
  readonly deletions: ReadonlySet<string>;
}

/** A parsed `/etc/pve/lxc/<vmid>.conf`. */
export interface ContainerConfig {
  readonly main: ConfigSection;
  /** Snapshot sections by name; never the pending section. */
  readonly snapshots: ReadonlyMap<string, ConfigSection>;
  /** The pending section, or null when nothing is pending. */
  readonly pending: PendingSection | null;
}

// pve-container src/PVE/LXC/Config.pm, parse_pct_config: `[pve:pending]` (any case) starts the
// pending section, `[name]` with a snapshot name a snapshot's; any other bracketed line is
// an unparsable line (Proxmox warns and goes on), never a section.
const PENDING = /^\[pve:pending\]\s*$/i;
const SNAPSHOT = /^\[([a-z][a-z0-9_-]+)\]\s*$/i;
const KEY_VALUE = /^([a-z][a-z0-9_.-]*)\s*:\s*(.*)$/i;

interface RawSection {
  values: Record<string, string>;
  description: string[];
}

/**
 * Parses Proxmox's container config format: leading `#` lines are the (percent-encoded)
 * description, `key: value` lines the properties, `[pve:pending]` starts the pending section
 * and `[name]` a snapshot section. Unknown lines are skipped, as Proxmox's own parser warns
 * and goes on.
 */
export function parseContainerConfig(text: string): ContainerConfig {
  const snapshots = new Map<string, RawSection>();
  const main: RawSection = { values: {}, description: [] };
  let pending: RawSection | null = null;
  let current = main;
  for (const line of text.split("\n")) {
    if (PENDING.test(line)) {
      current = pending = { values: {}, description: [] };
      continue;
    }
    const snapshot = SNAPSHOT.exec(line);
    if (snapshot) {
      current = { values: {}, description: [] };
      snapshots.set(snapshot[1]!, current);
      continue;
    }
    if (line.startsWith("#")) {
      current.description.push(decodeText(line.slice(1)));
      continue;
    }
    const kv = KEY_VALUE.exec(line);
    if (kv) current.values[kv[1]!] = kv[2]!.trim();
  }
  return {
    main: toSection(main),
    snapshots: new Map([...snapshots].map(([name, s]) => [name, toSection(s)])),
    pending: pending ? toPending(pending) : null,
  };
}

/** A line of a config file that `parseContainerConfig` skips: neither blank, section, description nor `key: value`. */
export interface UnparsedLine {
  /** 1-based. */
  readonly line: number;
  readonly text: string;
  /** A bracketed line that names no section Lockstep knows (`[pve:...]` other than pending, a bad name). */
  readonly unknownSection: boolean;
}

/**
 * The lines `parseContainerConfig` skips, by the same grammar. Proxmox warns about each and
 * goes on (`unable to parse config`); Lockstep skips it too, and a skipped section header
 * leaves the lines after it in the section before, so the doctor reports every one.
 */
export function unparsedLines(text: string): UnparsedLine[] {
  return text.split("\n").flatMap((line, index) => {
    if (line.trim() === "" || PENDING.test(line) || SNAPSHOT.test(line) || line.startsWith("#") || KEY_VALUE.test(line))
      return [];
    return [{ line: index + 1, text: line, unknownSection: /^\[.*\]\s*$/.test(line) }];
  });
}

function toSection(s: RawSection): ConfigSection {
  return {
    values: s.values,
    description: s.values.description !== undefined ? decodeText(s.values.description) : s.description.join("\n"),
  };
}

function toPending(s: RawSection): PendingSection {
  const { delete: deleted, ...values } = s.values;
  return { ...toSection({ values, description: s.description }), deletions: parsePendingDelete(deleted) };
}

/**
 * pve-guest-common src/PVE/AbstractConfig.pm, parse_pending_delete: keys separated by `,`,
 * `;` or spaces, each with an optional `!` (force) in front.
 */
export function parsePendingDelete(value: string | undefined): ReadonlySet<string> {
  if (!value) return new Set();
  return new Set(
    value
      .split(/[,;\s]+/)
      .map((entry) => entry.replace(/^!/, ""))
      .filter((key) => key.length > 0),
  );
}

/**
 * What a key will be once the container starts again. pve-container src/PVE/LXC/Config.pm,
 * vmconfig_apply_pending: pending deletions are applied first, then pending values, so a
 * pending value wins over a pending deletion of the same key.
 */
export function effectiveValue(config: ContainerConfig, key: string): string | undefined {
  const pendingValue = config.pending?.values[key];
  if (pendingValue !== undefined) return pendingValue;
  return config.pending?.deletions.has(key) ? undefined : config.main.values[key];
}

/** Whether a key has a change waiting for the next start (a pending value or deletion). */
export function isPending(config: ContainerConfig, key: string): boolean {
  return config.pending !== null && (config.pending.deletions.has(key) || config.pending.values[key] !== undefined);
}

/** Proxmox tags are `;`-separated (`,` and spaces are accepted too). */
export function parseTags(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(/[;, ]+/).filter((tag) => tag.length > 0);
}
