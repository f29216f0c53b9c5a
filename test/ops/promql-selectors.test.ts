import test from "ava";
import { metricNamesOf, selectorsOf } from "./support/promql-selectors.js";

test("metric names are read from selectors, not from functions, aggregations or grouping labels", (t) => {
  t.deepEqual(
    metricNamesOf(
      'histogram_quantile(0.99, sum by (le, route) (rate(lockstep_http_request_duration_seconds_bucket{route!="/metrics"}[5m])))',
    ),
    ["lockstep_http_request_duration_seconds_bucket"],
  );
});

test("both sides of a binary expression and its matching clauses are read", (t) => {
  t.deepEqual(metricNamesOf("up == 0 unless on(node) group_left(version) lockstep_node_maintenance == 1"), [
    "up",
    "lockstep_node_maintenance",
  ]);
});

test("a metric named by a __name__ matcher is read", (t) => {
  t.deepEqual(selectorsOf('{__name__="lockstep_jobs", state="queued"}'), [
    { metric: "lockstep_jobs", labels: ["state"] },
  ]);
});

test("the labels a selector matches on are listed", (t) => {
  t.deepEqual(selectorsOf('lockstep_agent_pmxcfs_state{state!="ok", node=~"$node"}'), [
    { metric: "lockstep_agent_pmxcfs_state", labels: ["state", "node"] },
  ]);
});

test("Grafana's interval variables are read as durations", (t) => {
  t.deepEqual(
    metricNamesOf("rate(lockstep_agent_rpcs_total[$__rate_interval]) + rate(lockstep_agent_rpcs_total[${__interval}])"),
    ["lockstep_agent_rpcs_total"],
  );
});

test("a metric named by a pattern is refused", (t) => {
  t.throws(() => selectorsOf('{__name__=~"lockstep_.*"}'), { message: /pattern/ });
});

test("a query that is not PromQL is refused", (t) => {
  t.throws(() => selectorsOf("sum by (kind (lockstep_jobs)"), { message: /not PromQL/ });
});
