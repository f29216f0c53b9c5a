/** One sample line: its labels and value. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition, by sample name (a histogram's are `_bucket`, `_sum`, `_count`). */
export type Samples = ReadonlyMap<string, readonly Sample[]>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample line of a `/metrics` text, with its labels; comments (# HELP, # TYPE) are left out. */
export function parseExposition(text: string): Samples {
  const samples = new Map<string, Sample[]>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries([...(m[3] ?? "").matchAll(LABEL)].map((l) => [l[1]!, l[2]!]));
    samples.set(m[1]!, [...(samples.get(m[1]!) ?? []), { labels, value: Number(m[4]) }]);
  }
  return samples;
}

/** Several scrapes as one: a metric may come from the API or from an agent. */
export function mergeSamples(...all: Samples[]): Samples {
  const merged = new Map<string, Sample[]>();
  for (const samples of all)
    for (const [name, series] of samples) merged.set(name, [...(merged.get(name) ?? []), ...series]);
  return merged;
}
