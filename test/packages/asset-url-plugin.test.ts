import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import test from "ava";
import { scratchDir } from "@lockstep/shared";
import { bundleLibrary } from "../../scripts/package/bundle-library.js";
import { replacedModules, type LibrarySpec } from "../../scripts/package/library-spec.js";
import { PackagingError } from "../../scripts/package/packaging-error.js";

/** A repository of a few compiled modules, and a library directory to bundle them into. */
function fixture(
  t: { teardown(fn: () => void): void; passed: boolean; log(...values: unknown[]): void },
  files: Record<string, string>,
): { repo: string; libDir: string } {
  const dir = scratchDir(t, "lockstep-asset-url");
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, "repo", file)), { recursive: true });
    writeFileSync(path.join(dir, "repo", file), text);
  }
  return { repo: path.join(dir, "repo"), libDir: path.join(dir, "lib") };
}

const SPEC: LibrarySpec = {
  dir: "/usr/lib/example",
  runtime: "node/bin/node",
  bundles: [
    { out: "bin/main.mjs", entry: "pkg/dist/main.js", executable: true },
    { out: "workers/worker.mjs", entry: "pkg/dist/worker.js", executable: false },
  ],
  assets: [{ out: "bin/tool.cjs", source: "pkg/helpers/tool.cjs" }],
  omitted: { "pkg/extra/server.py": "not shipped in this test" },
};

const MODULES = {
  "pkg/dist/main.js": 'import { paths } from "./lib/paths.js";\nconsole.log(JSON.stringify(paths));\n',
  // As the workspace writes them: relative to the compiled module, under dist/lib/.
  "pkg/dist/lib/paths.js":
    'import { fileURLToPath } from "node:url";\nexport const paths = {\n  tool: fileURLToPath(new URL("../../helpers/tool.cjs", import.meta.url)),\n  worker: fileURLToPath(new URL("../worker.js", import.meta.url)),\n  server: fileURLToPath(new URL("../../extra/server.py", import.meta.url)),\n};\n',
  "pkg/dist/worker.js": "export {};\n",
  "pkg/helpers/tool.cjs": "module.exports = {};\n",
};

test("a file a module names by URL resolves, in the bundle, to where the package ships it", async (t) => {
  const { repo, libDir } = fixture(t, MODULES);
  const bundled = await bundleLibrary(SPEC, repo, libDir, {});
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(libDir, "bin/main.mjs")]);
  const paths = JSON.parse(stdout) as Record<string, string>;
  t.is(paths.tool, path.join(libDir, "bin/tool.cjs"));
  t.is(paths.worker, path.join(libDir, "workers/worker.mjs"), "a module that is another bundle's entry is that bundle");
  t.is(
    paths.server,
    path.join(libDir, "bin/server.py"),
    "a file left out on purpose is named beside the bundle, where nothing is",
  );
  t.deepEqual(
    bundled.files.map((file) => [file.path, file.mode]),
    [
      ["bin/main.mjs", 0o755],
      ["workers/worker.mjs", 0o644],
      ["bin/tool.cjs", 0o644],
    ],
  );
});

test("a program's #! names the package's own runtime", async (t) => {
  const { repo, libDir } = fixture(t, MODULES);
  await bundleLibrary(SPEC, repo, libDir, {});
  t.true(readFileSync(path.join(libDir, "bin/main.mjs"), "utf8").startsWith("#!/usr/lib/example/node/bin/node\n"));
  t.false(
    readFileSync(path.join(libDir, "workers/worker.mjs"), "utf8").startsWith("#!"),
    "a module run as `node <file>` has none",
  );
});

test("a file named by URL that the package neither ships nor leaves out stops the build", async (t) => {
  const { repo, libDir } = fixture(t, {
    ...MODULES,
    "pkg/dist/lib/paths.js":
      'export const paths = { x: new URL("../../data/table.json", import.meta.url).pathname };\n',
  });
  const err = await t.throwsAsync(bundleLibrary(SPEC, repo, libDir, {}), { instanceOf: PackagingError });
  t.is(err?.code, "UNMAPPED_REFERENCE");
  t.regex(err?.message ?? "", /pkg\/dist\/lib\/paths\.js refers to pkg\/data\/table\.json/);
});

test("import.meta used otherwise outside the entry stops the build, since its base moves into the bundle", async (t) => {
  const { repo, libDir } = fixture(t, {
    ...MODULES,
    "pkg/dist/lib/paths.js": "export const paths = { here: import.meta.url };\n",
  });
  const err = await t.throwsAsync(bundleLibrary(SPEC, repo, libDir, {}), { instanceOf: PackagingError });
  t.is(err?.code, "UNMAPPED_REFERENCE");
});

test("a bundle holding the build's own directory stops the build", async (t) => {
  const { repo, libDir } = fixture(t, MODULES);
  writeFileSync(
    path.join(repo, "pkg/dist/worker.js"),
    `export const builtAt = ${JSON.stringify(repo)};\nconsole.log(builtAt);\n`,
  );
  const err = await t.throwsAsync(bundleLibrary(SPEC, repo, libDir, {}), { instanceOf: PackagingError });
  t.is(err?.code, "BAD_INPUT");
});

test("the version module is replaced by the release's version at bundle time", async (t) => {
  const { repo, libDir } = fixture(t, {
    ...MODULES,
    "pkg/dist/main.js":
      'import { lockstepVersion } from "../../packages/shared/dist/version/lockstep-version.js";\nconsole.log(lockstepVersion());\n',
    "packages/shared/dist/version/lockstep-version.js":
      'export function lockstepVersion() { throw new Error("read package.json"); }\n',
  });
  await bundleLibrary(SPEC, repo, libDir, replacedModules("9.8.7-rc.1"));
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(libDir, "bin/main.mjs")]);
  t.is(stdout.trim(), "9.8.7-rc.1");
});
