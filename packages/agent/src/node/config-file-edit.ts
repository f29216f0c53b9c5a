const SECTION = /^\[[^\]]+\]\s*$/;

/**
 * Sets and removes keys in the MAIN section of a container config's text (before the first
 * `[snapshot]` section), leaving every other byte as it was. A key that is there is replaced
 * in place (its repeats dropped); a new one goes after the section's last line, where
 * Proxmox's own writer puts raw `lxc.*` keys.
 */
export function editMainSection(
  text: string,
  set: Readonly<Record<string, string>>,
  remove: readonly string[],
): string {
  const lines = text.split("\n");
  const firstSection = lines.findIndex((line) => SECTION.test(line));
  const mainEnd = firstSection < 0 ? lines.length : firstSection;
  const main = lines.slice(0, mainEnd);
  const keyOf = (line: string): string | undefined => /^([a-z][a-z0-9_.-]*)\s*[:=]/i.exec(line)?.[1];
  const placed = new Set<string>();
  const edited: string[] = [];
  for (const line of main) {
    const key = keyOf(line);
    if (key === undefined || (!(key in set) && !remove.includes(key))) edited.push(line);
    else if (key in set && !placed.has(key)) {
      edited.push(`${key}: ${set[key]}`);
      placed.add(key);
    }
  }
  let insertAt = edited.length;
  while (insertAt > 0 && edited[insertAt - 1]!.trim() === "") insertAt--;
  const added = Object.entries(set)
    .filter(([key]) => !placed.has(key))
    .map(([key, value]) => `${key}: ${value}`);
  edited.splice(insertAt, 0, ...added);
  return [...edited, ...lines.slice(mainEnd)].join("\n");
}
