import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { runCommand } from "./run-command.js";

/** One file of a package: copied from `from`, or written from `text`. */
export interface DebFile {
  /** Where it is installed (absolute). */
  readonly path: string;
  readonly mode: number;
  readonly from?: string;
  readonly text?: string | Uint8Array;
}

/** The control file's fields and the package's contents. */
export interface DebPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: "amd64" | "all";
  readonly maintainer: string;
  readonly section: string;
  readonly depends: readonly string[];
  readonly homepage?: string;
  readonly synopsis: string;
  /** The extended description, paragraphs separated by blank lines. */
  readonly description: string;
  readonly files: readonly DebFile[];
  /** Symbolic links: path -> target (relative, as Debian policy wants within one top directory). */
  readonly links: Readonly<Record<string, string>>;
  /** Files under /etc that dpkg keeps an administrator's changes to. */
  readonly conffiles: readonly string[];
  /** Maintainer scripts (postinst, prerm, postrm), by the file they are read from. */
  readonly scripts: Readonly<Partial<Record<"postinst" | "prerm" | "postrm", string>>>;
}

/**
 * Lays the package out in `tree` (an empty directory) and builds `<outDir>/<name>_<version>_<arch>.deb`
 * so that the same input gives the same bytes: every mode set, every mtime the release's,
 * owner root (--root-owner-group), entries sorted and timestamps clamped by dpkg-deb
 * (SOURCE_DATE_EPOCH), one compressor thread.
 */
export async function buildDeb(
  pkg: DebPackage,
  tree: string,
  outDir: string,
  sourceDateEpoch: number,
): Promise<string> {
  for (const file of pkg.files) {
    const at = path.join(tree, file.path);
    mkdirSync(path.dirname(at), { recursive: true });
    if (file.from !== undefined) copyFileSync(file.from, at);
    else writeFileSync(at, file.text ?? "");
    chmodSync(at, file.mode);
  }
  for (const [link, target] of Object.entries(pkg.links)) {
    mkdirSync(path.dirname(path.join(tree, link)), { recursive: true });
    symlinkSync(target, path.join(tree, link));
  }
  const conffiles = new Set(pkg.conffiles);
  const control = controlText(pkg, installedSizeKib(tree));
  const sums = md5sums(tree, conffiles);
  const debian = path.join(tree, "DEBIAN");
  mkdirSync(debian);
  writeFileSync(path.join(debian, "control"), control);
  if (conffiles.size) writeFileSync(path.join(debian, "conffiles"), [...conffiles].map((file) => `${file}\n`).join(""));
  writeFileSync(path.join(debian, "md5sums"), sums);
  for (const [name, from] of Object.entries(pkg.scripts)) {
    copyFileSync(from, path.join(debian, name));
    chmodSync(path.join(debian, name), 0o755);
  }
  normalize(tree, sourceDateEpoch);
  mkdirSync(outDir, { recursive: true });
  const deb = path.join(outDir, `${pkg.name}_${pkg.version}_${pkg.architecture}.deb`);
  // Built beside its name and renamed: a build that fails leaves no half package behind.
  const partial = `${deb}.part`;
  try {
    // xz, which lintian and every dpkg read, at level 1: it packs the runtime as small as level 6
    // packs it unstripped, in a sixth of the time. One thread, so the output never depends on the CPUs.
    await runCommand("dpkg-deb", ["--root-owner-group", "-Zxz", "-z1", "--threads-max=1", "--build", tree, partial], {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(sourceDateEpoch) },
      timeoutMs: 30 * 60_000,
    });
    renameSync(partial, deb);
  } finally {
    rmSync(partial, { force: true });
  }
  return deb;
}

function controlText(pkg: DebPackage, installedSize: number): string {
  const fields: [string, string | undefined][] = [
    ["Package", pkg.name],
    ["Version", pkg.version],
    ["Architecture", pkg.architecture],
    ["Maintainer", pkg.maintainer],
    ["Installed-Size", String(installedSize)],
    ["Depends", pkg.depends.join(", ") || undefined],
    ["Section", pkg.section],
    ["Priority", "optional"],
    ["Homepage", pkg.homepage],
    [
      "Description",
      `${pkg.synopsis}\n${pkg.description
        .trim()
        .split("\n")
        .map((line) => (line.trim() ? ` ${line}` : " ."))
        .join("\n")}`,
    ],
  ];
  return fields
    .filter((field): field is [string, string] => field[1] !== undefined)
    .map(([key, value]) => `${key}: ${value}\n`)
    .join("");
}

/** Every path under `dir` (relative), sorted, directories before what they hold. */
function walk(dir: string, prefix = ""): string[] {
  return readdirSync(path.join(dir, prefix))
    .sort()
    .flatMap((name) => {
      const rel = path.join(prefix, name);
      return lstatSync(path.join(dir, rel)).isDirectory() ? [rel, ...walk(dir, rel)] : [rel];
    });
}

/** As dpkg-gencontrol counts it: KiB per file, rounded up, and one per directory and link. */
function installedSizeKib(tree: string): number {
  return walk(tree).reduce((sum, rel) => {
    const stat = lstatSync(path.join(tree, rel));
    return sum + (stat.isFile() ? Math.ceil(stat.size / 1024) : 1);
  }, 0);
}

/** DEBIAN/md5sums: every regular file but the conffiles (dpkg records those itself). */
function md5sums(tree: string, conffiles: ReadonlySet<string>): string {
  return walk(tree)
    .filter((rel) => lstatSync(path.join(tree, rel)).isFile() && !conffiles.has(`/${rel}`))
    .map(
      (rel) =>
        `${createHash("md5")
          .update(readFileSync(path.join(tree, rel)))
          .digest("hex")}  ${rel}\n`,
    )
    .join("");
}

/** Directories 0755 (files keep the modes set above) and every timestamp the release's. */
function normalize(tree: string, epoch: number): void {
  const paths = walk(tree);
  for (const rel of paths) if (lstatSync(path.join(tree, rel)).isDirectory()) chmodSync(path.join(tree, rel), 0o755);
  chmodSync(tree, 0o755);
  for (const rel of [...paths].reverse()) {
    const at = path.join(tree, rel);
    if (lstatSync(at).isSymbolicLink()) lutimesSync(at, epoch, epoch);
    else utimesSync(at, epoch, epoch);
  }
  utimesSync(tree, epoch, epoch);
}
