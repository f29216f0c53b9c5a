import { readFileSync } from "node:fs";
import path from "node:path";
import type { Plugin } from "esbuild";
import { PackagingError } from "./packaging-error.js";

/** Where a bundle finds a file its code names with `new URL("<relative>", import.meta.url)`. */
export interface AssetUrlOptions {
  readonly repo: string;
  /** The bundle being built (absolute), and the entry it starts from (absolute). */
  readonly outFile: string;
  readonly entry: string;
  /** Repository file -> where the package ships it (absolute, in the same tree as `outFile`). */
  readonly shipped: ReadonlyMap<string, string>;
  /** Repository files left out on purpose, with the reason. */
  readonly omitted: Readonly<Record<string, string>>;
  /** Repository modules replaced by generated code. */
  readonly replaced: Readonly<Record<string, string>>;
}

/** One reference the plugin rewrote: in which module, what it named, what it names now. */
export interface RewrittenReference {
  readonly module: string;
  readonly target: string;
  readonly rewritten: string;
}

const URL_REFERENCE = /new URL\(\s*(["'])([^"'\n]+)\1\s*,\s*import\.meta\.url\s*\)/g;

/**
 * The workspace's code finds its helper scripts and sibling programs as webpack and Vite
 * expect, `new URL("<relative>", import.meta.url)`, relative to the compiled module. Joined
 * into one bundle that base moves, so this plugin resolves each reference against the module
 * it is written in and rewrites it relative to the bundle, to where the package ships that
 * file. A reference to a file the package does not ship, or any other use of import.meta
 * (outside the entry, which may name itself), stops the build: nothing resolves by accident.
 */
export function assetUrlPlugin(options: AssetUrlOptions): { plugin: Plugin; rewritten: RewrittenReference[] } {
  const rewritten: RewrittenReference[] = [];
  const plugin: Plugin = {
    name: "lockstep-asset-url",
    setup(build) {
      build.onLoad({ filter: /\.[cm]?js$/ }, (args) => {
        const module = path.relative(options.repo, args.path);
        const replacement = options.replaced[module];
        if (replacement !== undefined) return { contents: replacement, loader: "js" };
        const text = readFileSync(args.path, "utf8");
        if (!text.includes("import.meta")) return { contents: text, loader: "js" };
        const contents = text.replace(URL_REFERENCE, (_match, quote: string, reference: string) => {
          const target = path.relative(options.repo, path.resolve(path.dirname(args.path), reference));
          const now = relocate(target, options, module);
          rewritten.push({ module, target, rewritten: now });
          return `new URL(${quote}${now}${quote}, import.meta.url)`;
        });
        if (contents.replace(URL_REFERENCE, "").includes("import.meta") && args.path !== options.entry) {
          throw new PackagingError(
            "UNMAPPED_REFERENCE",
            `${module} uses import.meta other than new URL("<relative>", import.meta.url); only a bundle's entry may name itself, and ${module} is not ${path.relative(options.repo, options.entry)}`,
          );
        }
        return { contents, loader: "js" };
      });
    },
  };
  return { plugin, rewritten };
}

/** The reference, relative to the bundle, for a file the module named. */
function relocate(target: string, options: AssetUrlOptions, module: string): string {
  const from = path.dirname(options.outFile);
  const shipped = options.shipped.get(target);
  if (shipped !== undefined) return `./${path.relative(from, shipped)}`.replace(/^\.\/\.\.\//, "../");
  // Left out on purpose: named beside the bundle, where nothing is, so a use fails at once
  // with the file's name rather than finding something else on the system.
  if (target in options.omitted) return `./${path.basename(target)}`;
  throw new PackagingError(
    "UNMAPPED_REFERENCE",
    `${module} refers to ${target} (new URL(..., import.meta.url)), which the package neither ships nor leaves out on purpose: add it to scripts/package/library-spec.ts`,
  );
}
