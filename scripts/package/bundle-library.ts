import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { build, type Plugin } from "esbuild";
import { assetUrlPlugin, type RewrittenReference } from "./asset-url-plugin.js";
import type { LibrarySpec } from "./library-spec.js";
import { PackagingError } from "./packaging-error.js";

/** What bundling one library produced. */
export interface BundledLibrary {
  /** Every file written, relative to the library's directory, with its mode. */
  readonly files: readonly { readonly path: string; readonly mode: number }[];
  /** The npm packages joined into the bundles (their directories, relative to the repository). */
  readonly npmPackages: readonly string[];
  readonly rewritten: readonly RewrittenReference[];
}

// Bundled CommonJS dependencies call require() for Node's own modules, and some name their own
// file (koffi's createRequire(__filename)); an ES module has neither. Their free __filename and
// __dirname become the bundle's (define below), which is where their files are shipped.
const REQUIRE_SHIM = [
  'import { createRequire as lockstepCreateRequire } from "node:module";',
  'import { fileURLToPath as lockstepFileURLToPath } from "node:url";',
  "const require = lockstepCreateRequire(import.meta.url);",
  "const lockstepBundleFile = lockstepFileURLToPath(import.meta.url);",
  'const lockstepBundleDir = lockstepBundleFile.slice(0, lockstepBundleFile.lastIndexOf("/"));',
].join("\n");

/**
 * Bundles each program of `spec` from the workspace's tsc build into `libDir` (the library
 * directory inside a package tree) with esbuild: ES modules for Node 20 and later, no source
 * maps, each program's `#!` naming the package's own runtime; then copies the assets.
 */
export async function bundleLibrary(
  spec: LibrarySpec,
  repo: string,
  libDir: string,
  replaced: Readonly<Record<string, string>>,
): Promise<BundledLibrary> {
  const shipped = new Map<string, string>();
  for (const bundle of spec.bundles)
    for (const source of [bundle.entry, ...(bundle.alsoAt ?? [])]) shipped.set(source, path.join(libDir, bundle.out));
  for (const asset of spec.assets) shipped.set(asset.source, path.join(libDir, asset.out));
  const files: { path: string; mode: number }[] = [];
  const npmPackages = new Set<string>();
  const rewritten: RewrittenReference[] = [];
  for (const bundle of spec.bundles) {
    const outFile = path.join(libDir, bundle.out);
    const entry = path.join(repo, bundle.entry);
    const urls = assetUrlPlugin({ repo, outFile, entry, shipped, omitted: spec.omitted, replaced });
    const result = await build({
      absWorkingDir: repo,
      entryPoints: [entry],
      outfile: outFile,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "esm",
      // Folds constant conditions; names and layout stay readable in stack traces.
      minifySyntax: true,
      sourcemap: false,
      banner: { js: `${bundle.executable ? `#!${spec.dir}/${spec.runtime}\n` : ""}${REQUIRE_SHIM}` },
      define: { __filename: "lockstepBundleFile", __dirname: "lockstepBundleDir" },
      plugins: [commonJsEntries(spec.commonJs ?? []), urls.plugin],
      metafile: true,
      logLevel: "silent",
    }).catch((err: unknown) => {
      throw pluginFailure(err) ?? err;
    });
    for (const input of Object.keys(result.metafile.inputs)) {
      const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (match) npmPackages.add(match[1]!);
    }
    rewritten.push(...urls.rewritten);
    refuseBuildPaths(outFile, repo);
    files.push({ path: bundle.out, mode: bundle.executable ? 0o755 : 0o644 });
  }
  for (const asset of spec.assets) {
    mkdirSync(path.dirname(path.join(libDir, asset.out)), { recursive: true });
    copyFileSync(path.join(repo, asset.source), path.join(libDir, asset.out));
    files.push({ path: asset.out, mode: 0o644 });
  }
  return { files, npmPackages: [...npmPackages].sort(), rewritten };
}

/** Resolves each of `names` as require() would: to its package's CommonJS entry. */
function commonJsEntries(names: readonly string[]): Plugin {
  return {
    name: "commonjs-entries",
    setup(pluginBuild) {
      if (names.length === 0) return;
      const filter = new RegExp(`^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")})$`);
      pluginBuild.onResolve({ filter }, async (args) => {
        if (args.pluginData === "commonjs") return undefined;
        const resolved = await pluginBuild.resolve(args.path, {
          kind: "require-call",
          resolveDir: args.resolveDir,
          pluginData: "commonjs",
        });
        return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path };
      });
    },
  };
}

/** esbuild reports a plugin's error inside its own; the plugin's is the one that says why. */
function pluginFailure(err: unknown): PackagingError | undefined {
  const errors = (err as { errors?: { detail?: unknown }[] }).errors ?? [];
  return errors.map((e) => e.detail).find((detail): detail is PackagingError => detail instanceof PackagingError);
}

/** A bundle naming the directory it was built in would differ between two clones. */
function refuseBuildPaths(file: string, repo: string): void {
  const text = readFileSync(file, "utf8");
  const at = text.indexOf(repo);
  if (at >= 0)
    throw new PackagingError(
      "BAD_INPUT",
      `${file} contains the build's own path ${repo} (…${text.slice(Math.max(0, at - 60), at + repo.length + 20)}…)`,
    );
}
