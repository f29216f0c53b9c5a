import { readFileSync } from "node:fs";
import { DASHBOARD } from "./ops-files.js";

interface Panel {
  readonly title?: string;
  readonly type: string;
  readonly targets?: readonly { readonly expr?: string }[];
  readonly panels?: readonly Panel[];
}

interface Dashboard {
  readonly panels: readonly Panel[];
  readonly templating?: {
    readonly list: readonly {
      readonly name: string;
      readonly type: string;
      readonly query?: string | { readonly query?: string };
    }[];
  };
}

/** One PromQL query of the dashboard and where it is. */
export interface DashboardQuery {
  readonly where: string;
  readonly expr: string;
}

export function dashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
}

/** Every panel's queries, those of panels folded into collapsed rows included. */
export function panelQueries(board = dashboard()): DashboardQuery[] {
  const walk = (panels: readonly Panel[]): DashboardQuery[] =>
    panels.flatMap((p) => [
      ...(p.targets ?? []).map((t, i) => ({ where: `panel '${p.title}' target ${i}`, expr: t.expr ?? "" })),
      ...walk(p.panels ?? []),
    ]);
  return walk(board.panels);
}

// Grafana's templating function for a variable's values: label_values(<series selector>, <label>).
const LABEL_VALUES = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/;

/** The series selectors of the query variables (`label_values(selector, label)`), as PromQL. */
export function variableQueries(board = dashboard()): DashboardQuery[] {
  return (board.templating?.list ?? [])
    .filter((v) => v.type === "query")
    .map((v) => {
      const query = typeof v.query === "string" ? v.query : (v.query?.query ?? "");
      const m = LABEL_VALUES.exec(query.trim());
      if (!m)
        throw new Error(
          `variable '${v.name}': only label_values(<selector>, <label>) is checked, got ${JSON.stringify(query)}`,
        );
      return { where: `variable '${v.name}' (label ${m[2]})`, expr: m[1]! };
    });
}
