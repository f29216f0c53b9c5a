import { execFile } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";
import { ALERT_RULES, alertRules, ruleTestCases, ruleTestFiles } from "./support/ops-files.js";

const OPERATIONS_DOC = fileURLToPath(new URL("../../docs/operations.md", import.meta.url));

/** Debian's promtool (package prometheus, installed by scripts/bootstrap.sh); PROMTOOL overrides. */
function promtool(): string {
  const file = process.env.PROMTOOL ?? "/usr/bin/promtool";
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(
      `promtool is missing (${file}): install Debian's prometheus package (scripts/bootstrap.sh does), or set PROMTOOL`,
    );
  }
  return file;
}

async function run(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(promtool(), args, { timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

test("promtool finds the alerting rules valid", async (t) => {
  const { code, output } = await run(["check", "rules", ALERT_RULES]);
  t.is(code, 0, output);
  t.regex(output, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
});

test("promtool's unit tests of the alerting rules pass", async (t) => {
  const files = ruleTestFiles();
  t.true(files.length > 0);
  const { code, output } = await run(["test", "rules", ...files]);
  t.is(code, 0, output);
});

test("every alert has a unit test where it fires and one where it does not", (t) => {
  const cases = ruleTestCases();
  const missing = alertRules().flatMap((rule) => [
    ...(cases.some((c) => c.alertname === rule.alert && c.fires) ? [] : [`${rule.alert} never fires`]),
    ...(cases.some((c) => c.alertname === rule.alert && !c.fires) ? [] : [`${rule.alert} is never shown quiet`]),
  ]);
  t.deepEqual(missing, []);
});

test("every alert has a severity, a summary and a description that points to its section of docs/operations.md", (t) => {
  const doc = readFileSync(OPERATIONS_DOC, "utf8");
  const problems = alertRules().flatMap((rule) => {
    const found: string[] = [];
    if (!["critical", "warning"].includes(rule.labels?.severity ?? ""))
      found.push(`${rule.alert}: severity must be critical or warning`);
    if (!rule.annotations?.summary) found.push(`${rule.alert}: no summary`);
    if (!rule.annotations?.description?.includes(`docs/operations.md#${rule.alert.toLowerCase()}`))
      found.push(`${rule.alert}: description does not point to docs/operations.md#${rule.alert.toLowerCase()}`);
    if (!new RegExp(`^#+ ${rule.alert}$`, "m").test(doc))
      found.push(`${rule.alert}: no section '${rule.alert}' in docs/operations.md`);
    return found;
  });
  t.deepEqual(problems, []);
});
