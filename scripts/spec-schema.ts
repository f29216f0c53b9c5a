// Writes the container spec's JSON Schema from the schema the validator uses, so the published
// document can never drift from what is enforced. `--check` fails when the committed file differs.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ContainerSpec } from "../packages/shared/src/spec/container-spec.js";

const file = fileURLToPath(new URL("../schemas/container-spec.schema.json", import.meta.url));
/**
 * The validator fills in defaults before it checks, so a property with a default may be left
 * out: the published document says so by not requiring it.
 */
function optionalDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(optionalDefaults);
  if (typeof node !== "object" || node === null) return node;
  const copy = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, optionalDefaults(value)])) as Record<
    string,
    unknown
  >;
  const properties = copy.properties as Record<string, Record<string, unknown>> | undefined;
  if (Array.isArray(copy.required) && properties) {
    copy.required = (copy.required as string[]).filter((key) => !("default" in (properties[key] ?? {})));
    if ((copy.required as string[]).length === 0) delete copy.required;
  }
  return copy;
}

const schema = optionalDefaults(JSON.parse(JSON.stringify(ContainerSpec))) as object;
const document = `${JSON.stringify({ $schema: "https://json-schema.org/draft/2020-12/schema", ...schema }, null, 2)}\n`;

if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync(file, "utf8");
  } catch {
    // A missing file is a difference like any other.
  }
  if (committed !== document) {
    console.error(
      "spec-schema: schemas/container-spec.schema.json differs from the validator's schema; run: pnpm exec tsx scripts/spec-schema.ts",
    );
    process.exit(1);
  }
  console.log("spec-schema: schemas/container-spec.schema.json is current");
} else {
  writeFileSync(file, document);
  console.log("spec-schema: wrote schemas/container-spec.schema.json");
}
