import { parser } from "@prometheus-io/lezer-promql";

type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

/** One series selector of a query: the metric it names and the labels it matches on. */
export interface Selector {
  readonly metric: string;
  readonly labels: readonly string[];
}

// Grafana's own variables that stand where PromQL wants a duration; replaced before parsing.
const GRAFANA_DURATIONS = /\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g;

/**
 * Every series selector of a PromQL expression, found with Prometheus's own grammar (the
 * Lezer parser its web UI uses), so that function names, label names in `by (...)`, keywords
 * and strings are never taken for metrics. A query that does not parse, or that names its
 * metric by a regular expression (which no check can pin down), is an error.
 */
export function selectorsOf(expr: string): Selector[] {
  const query = expr.replace(GRAFANA_DURATIONS, "5m");
  const tree = parser.parse(query);
  const selectors: Selector[] = [];
  let broken: string | null = null;
  tree.iterate({
    enter: (ref) => {
      if (ref.type.isError)
        broken ??= `at ${ref.from}: ${JSON.stringify(query.slice(Math.max(0, ref.from - 20), ref.to + 20))}`;
      if (ref.name === "VectorSelector") selectors.push(selector(ref.node, query));
    },
  });
  if (broken) throw new Error(`not PromQL (${broken}): ${expr}`);
  return selectors;
}

/** The metric names an expression reads. */
export function metricNamesOf(expr: string): string[] {
  return [...new Set(selectorsOf(expr).map((s) => s.metric))];
}

function selector(node: SyntaxNode, query: string): Selector {
  const text = (n: SyntaxNode | null): string => (n ? query.slice(n.from, n.to) : "");
  let metric = text(node.getChild("Identifier"));
  const labels: string[] = [];
  for (const matcher of node.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? []) {
    const label = text(matcher.getChild("LabelName"));
    if (label !== "__name__") {
      labels.push(label);
      continue;
    }
    if (!matcher.getChild("MatchOp")?.getChild("EqlSingle"))
      throw new Error(`a metric named by a pattern cannot be checked: ${text(node)}`);
    metric = JSON.parse(text(matcher.getChild("StringLiteral"))) as string;
  }
  if (!metric) throw new Error(`a selector without a metric name: ${text(node)}`);
  return { metric, labels };
}
