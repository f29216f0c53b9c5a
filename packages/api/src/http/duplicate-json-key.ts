/**
 * The JSON pointer of the first member name that appears twice in one object of a JSON
 * text, or undefined. `JSON.parse` keeps the last of two equal names silently, so
 * `{"node":"nope","node":"pve1"}` would act on pve1 while a log or a proxy that reads the
 * first one sees nope. `text` must already be valid JSON (parse it first).
 */
export function duplicateJsonKey(text: string): string | undefined {
  // One frame per open object or array: its pointer, and its names or its next index.
  const frames: { pointer: string; names: Set<string> | null; index: number; key: string | undefined }[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const end = stringEnd(text, i);
      const top = frames.at(-1);
      if (expectName && top?.names) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.names.has(name)) return `${top.pointer}/${escapePointer(name)}`;
        top.names.add(name);
        top.key = name;
        expectName = false;
      }
      i = end;
    } else if (ch === "{" || ch === "[") {
      frames.push({
        pointer: childPointer(frames.at(-1)),
        names: ch === "{" ? new Set() : null,
        index: 0,
        key: undefined,
      });
      expectName = ch === "{";
    } else if (ch === "}" || ch === "]") {
      frames.pop();
    } else if (ch === ",") {
      const top = frames.at(-1);
      if (top?.names) expectName = true;
      else if (top) top.index += 1;
    }
  }
  return undefined;
}

/** The pointer of the value a frame is at now: its current member, or its current element. */
function childPointer(
  parent: { pointer: string; names: Set<string> | null; index: number; key: string | undefined } | undefined,
): string {
  if (!parent) return "";
  return `${parent.pointer}/${parent.names ? escapePointer(parent.key ?? "") : String(parent.index)}`;
}

/** Index of the closing quote of the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i += 1;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}

function escapePointer(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}
