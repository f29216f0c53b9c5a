// scripts/package.sh: builds lockstep-agent and lockstep-api as Debian packages into dist/deb/
// (or --out <dir>), the same bytes for the same commit. See docs/packaging.md.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bundleLibrary } from "./bundle-library.js";
import { buildDeb } from "./deb-package.js";
import { replacedModules } from "./library-spec.js";
import { cachedRuntime } from "./node-runtime.js";
import { PackagingError } from "./packaging-error.js";
import { productPackage } from "./product-package.js";
import { AGENT, API } from "./products.js";
import { readRelease } from "./release.js";
import { runtimeFiles } from "./runtime-files.js";

const repo = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const outDir = path.resolve(values.out ?? path.join(repo, "dist/deb"));
  const started = Date.now();
  const log = (message: string): void =>
    void process.stderr.write(`package: ${message} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  const release = await readRelease(repo, process.env);
  const tarball = await cachedRuntime(path.join(repo, ".local/package/downloads"));
  log(
    `lockstep ${release.debianVersion}, commit ${release.commit.slice(0, 12)}${release.dirty ? " (uncommitted changes)" : ""}; runtime ${path.basename(tarball)} verified`,
  );
  const work = mkdtempSync(path.join(os.tmpdir(), "lockstep-package-"));
  try {
    const runtime = await runtimeFiles(tarball, path.join(work, "runtime"));
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    for (const product of [AGENT, API]) {
      const libDir = path.join(work, product.name, "lib");
      const bundled = await bundleLibrary(product.library, repo, libDir, replacedModules(release.version));
      log(`${product.name}: bundled ${bundled.files.length} files`);
      const deb = await buildDeb(
        productPackage(product, { repo, release, runtime, libDir, bundled }),
        path.join(work, product.name, "tree"),
        outDir,
        release.sourceDateEpoch,
      );
      log(`built ${path.relative(process.cwd(), deb)}`);
      process.stdout.write(`${deb}\n`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `package: ${err instanceof PackagingError ? `${err.code}: ` : ""}${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
