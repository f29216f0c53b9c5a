/** One section of a container config: the main one, or a snapshot's. */
export interface ConfigSection {
  readonly values: Readonly<Record<string, string>>;
  readonly description: string;
}

/** A parsed `/etc/pve/lxc/<vmid>.conf`. */
export interface ContainerConfig {
  readonly main: ConfigSection;
  readonly snapshots: ReadonlyMap<string, ConfigSection>;
}

const SECTION = /^\[([^\]]+)\]\s*$/;
const KEY_VALUE = /^([a-z][a-z0-9_.-]*)\s*:\s*(.*)$/i;

/**
 * Parses Proxmox's container config format: leading `#` lines are the (percent-encoded)
 * description, `key: value` lines the properties, `[name]` starts a snapshot section.
 * Unknown lines are skipped, as Proxmox's own parser warns and goes on.
 */
export function parseContainerConfig(text: string): ContainerConfig {
  const sections = new Map<string, { values: Record<string, string>; description: string[] }>();
  let current = { values: {} as Record<string, string>, description: [] as string[] };
  const main = current;
  for (const line of text.split("\n")) {
    const section = SECTION.exec(line);
    if (section) {
      current = { values: {}, description: [] };
      sections.set(section[1]!, current);
      continue;
    }
    if (line.startsWith("#")) {
      current.description.push(decodeText(line.slice(1)));
      continue;
    }
    const kv = KEY_VALUE.exec(line);
    if (kv) current.values[kv[1]!] = kv[2]!.trim();
  }
  const toSection = (s: typeof main): ConfigSection => ({
    values: s.values,
    description: s.values.description !== undefined ? decodeText(s.values.description) : s.description.join("\n"),
  });
  return {
    main: toSection(main),
    snapshots: new Map([...sections].map(([name, s]) => [name, toSection(s)])),
  };
}

/** Proxmox's `decode_text`: `%XX` escapes back to characters. */
export function decodeText(text: string): string {
  return text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Proxmox tags are `;`-separated (`,` and spaces are accepted too). */
export function parseTags(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(/[;, ]+/).filter((tag) => tag.length > 0);
}
