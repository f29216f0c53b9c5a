import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** The repository's ops/ directory. */
export const OPS_DIR = fileURLToPath(new URL("../../../ops/", import.meta.url));
export const ALERT_RULES = path.join(OPS_DIR, "prometheus/lockstep-alerts.yml");
export const RULE_TESTS_DIR = path.join(OPS_DIR, "prometheus/tests");
export const DASHBOARD = path.join(OPS_DIR, "grafana/lockstep.json");

/** One alerting rule as written in the rules file. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const doc = parse(readFileSync(ALERT_RULES, "utf8")) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** The promtool unit test files, as paths. */
export function ruleTestFiles(): string[] {
  return readdirSync(RULE_TESTS_DIR)
    .filter((f) => f.endsWith(".yml"))
    .sort()
    .map((f) => path.join(RULE_TESTS_DIR, f));
}

/** Every `alert_rule_test` case of every unit test file: the alert and whether it is expected to fire. */
export function ruleTestCases(): { alertname: string; fires: boolean; file: string }[] {
  return ruleTestFiles().flatMap((file) => {
    const doc = parse(readFileSync(file, "utf8")) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    return doc.tests.flatMap((t) =>
      (t.alert_rule_test ?? []).map((c) => ({
        alertname: c.alertname,
        fires: (c.exp_alerts ?? []).length > 0,
        file: path.basename(file),
      })),
    );
  });
}
