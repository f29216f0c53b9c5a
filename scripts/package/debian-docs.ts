import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { PackagingError } from "./packaging-error.js";
import type { Release } from "./release.js";

/** Who the packages name as their maintainer. */
export const MAINTAINER = "Lockstep maintainers <maintainers@lockstep.invalid>";

/**
 * /usr/share/doc/<package>/changelog.gz (a native package's name for it): one entry for the
 * release, dated by its commit, gzip'd without a name or time in the header so that it is
 * the same every build.
 */
export function debianChangelog(pkg: string, release: Release): Uint8Array {
  const date = new Date(release.sourceDateEpoch * 1000).toUTCString().replace("GMT", "+0000");
  const from = `Built from Lockstep's repository at commit\n    ${release.commit}${release.dirty ? ",\n    with uncommitted changes" : ""}.`;
  const text = `${pkg} (${release.debianVersion}) unstable; urgency=medium\n\n  * ${from}\n\n -- ${MAINTAINER}  ${date}\n`;
  return gzipSync(text, { level: 9 });
}

/** A third-party part of a package: a bundled npm package or the runtime. */
export interface ThirdParty {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  /** Its own license and notice files' text; empty when the npm package carries none. */
  readonly texts: readonly { readonly file: string; readonly text: string }[];
}

const LICENSE_FILE = /^(licen[cs]e|copying|notice)(\.(md|txt))?$/i;
// The Apache License 2.0 itself (not a NOTICE, not a collection that quotes it).
const APACHE_2 = /^\s*Apache License\s+Version 2\.0, January 2004/;

/** The npm package at `dir` (relative to `repo`), with its license files. */
export function npmThirdParty(repo: string, dir: string): ThirdParty {
  const manifest = JSON.parse(readFileSync(path.join(repo, dir, "package.json"), "utf8")) as {
    name: string;
    version: string;
    license?: string;
  };
  const files = readdirSync(path.join(repo, dir))
    .filter((name) => LICENSE_FILE.test(name))
    .sort();
  return {
    name: manifest.name,
    version: manifest.version,
    license: manifest.license ?? "unknown",
    texts: files.map((file) => ({ file, text: readFileSync(path.join(repo, dir, file), "utf8") })),
  };
}

/**
 * /usr/share/doc/<package>/copyright: Lockstep's license, then every bundled part with its
 * license, then their texts. The Apache License 2.0 itself is referred to in
 * /usr/share/common-licenses, as Debian does, and only the NOTICE files it asks for are kept.
 */
export function copyrightText(libraryDir: string, runtime: ThirdParty, parts: readonly ThirdParty[]): string {
  const list = parts
    .map(
      (part) =>
        `  ${part.name} ${part.version}: ${part.license}${part.texts.length ? "" : " (its npm package carries no license file)"}`,
    )
    .join("\n");
  const texts = [runtime, ...parts].flatMap((part) =>
    part.texts
      .filter((text) => !APACHE_2.test(text.text))
      .map((text) => `--- ${part.name} ${part.version}: ${text.file} ---\n\n${text.text.trim()}\n`),
  );
  return `Lockstep
Copyright: Lockstep contributors
License: Apache-2.0

Lockstep is licensed under the Apache License, Version 2.0. On Debian systems, the full
text of the Apache License, Version 2.0 can be found in /usr/share/common-licenses/Apache-2.0.

The programs in ${libraryDir} are bundles: Lockstep's code joined with the npm packages
below. They run on ${runtime.name} ${runtime.version} (${libraryDir}/node), the Node.js
project's own build. Packages licensed under the Apache License 2.0 refer to the same text;
the other licenses and notices follow in full.

${list}

${texts.join("\n")}`;
}

/** The runtime's own LICENSE (Node.js and its dependencies), as a third-party part. */
export function runtimeThirdParty(version: string, licenseFile: string): ThirdParty {
  if (!existsSync(licenseFile)) throw new PackagingError("BAD_INPUT", `the runtime's ${licenseFile} is missing`);
  return {
    name: "Node.js",
    version,
    license: "MIT and others, see its LICENSE",
    texts: [{ file: "LICENSE", text: readFileSync(licenseFile, "utf8") }],
  };
}
