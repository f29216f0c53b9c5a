/** One storage of `/etc/pve/storage.cfg`. */
export interface StorageDefinition {
  readonly type: string;
  readonly id: string;
  readonly content: readonly string[];
  readonly disabled: boolean;
  /** The nodes it is limited to; null for every node. */
  readonly nodes: readonly string[] | null;
}

/**
 * Parses storage.cfg as pve-common's SectionConfig reads it (pve-storage Storage.pm config):
 * `<type>: <id>` starts a section, indented `<key> <value>` lines follow; `disable` without a
 * value sets it, `content` and `nodes` are comma lists.
 */
export function parseStorageCfg(text: string): StorageDefinition[] {
  const storages: StorageDefinition[] = [];
  let current: { type: string; id: string; values: Record<string, string> } | null = null;
  const flush = (): void => {
    if (!current) return;
    const list = (value: string | undefined): string[] => (value ?? "").split(/[,\s]+/).filter(Boolean);
    storages.push({
      type: current.type,
      id: current.id,
      content: list(current.values.content),
      disabled: current.values.disable !== undefined && current.values.disable !== "0",
      nodes: current.values.nodes !== undefined ? list(current.values.nodes) : null,
    });
  };
  for (const line of text.split("\n")) {
    const head = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (head) {
      flush();
      current = { type: head[1]!, id: head[2]!, values: {} };
      continue;
    }
    const property = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
    if (property && current) current.values[property[1]!] = property[2] ?? "1";
  }
  flush();
  return storages;
}
