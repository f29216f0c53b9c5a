// The short fault-injection seeds, one at a time and after every other test (scripts/test.sh):
// their invariants include "every incident is explained by an injected fault", and a `pct`
// slowed past its timeout by the package tests' debootstrap on the same two CPUs is an
// incident no fault explains. The rest of AVA's configuration is package.json's.
import { readFileSync } from "node:fs";

const { ava } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));

export default {
  ...ava,
  files: ["test/fault-injection.test.ts", "test/fault-injection-galera.test.ts"],
  concurrency: 1,
};
