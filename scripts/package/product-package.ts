import path from "node:path";
import type { BundledLibrary } from "./bundle-library.js";
import type { DebFile, DebPackage } from "./deb-package.js";
import { copyrightText, debianChangelog, MAINTAINER, npmThirdParty, runtimeThirdParty } from "./debian-docs.js";
import type { Product } from "./products.js";
import type { Release } from "./release.js";
import type { RuntimeFiles } from "./runtime-files.js";
import { NODE_RUNTIME } from "./node-runtime.js";

/** What went into one product's package, built already. */
export interface ProductInputs {
  readonly repo: string;
  readonly release: Release;
  readonly runtime: RuntimeFiles;
  /** Where its library was bundled to, and what that produced. */
  readonly libDir: string;
  readonly bundled: BundledLibrary;
}

/**
 * The Debian package of a product: its runtime and bundles under the library directory,
 * /usr/bin links to them, the units (the repository's own files), conffiles, documentation
 * and lintian overrides, and the maintainer scripts.
 */
export function productPackage(product: Product, inputs: ProductInputs): DebPackage {
  const { repo, release, runtime, libDir, bundled } = inputs;
  const lib = product.library.dir;
  const doc = `/usr/share/doc/${product.name}`;
  const from = (file: string): string => path.join(repo, file);
  const parts = bundled.npmPackages.map((dir) => npmThirdParty(repo, dir));
  const files: DebFile[] = [
    { path: `${lib}/${product.library.runtime}`, from: runtime.node, mode: 0o755 },
    ...bundled.files.map((file) => ({
      path: `${lib}/${file.path}`,
      from: path.join(libDir, file.path),
      mode: file.mode,
    })),
    ...product.units.map((unit) => ({
      path: `/usr/lib/systemd/system/${path.basename(unit)}`,
      from: from(unit),
      mode: 0o644,
    })),
    ...product.conffiles.map((conffile) => ({ path: conffile.path, from: from(conffile.from), mode: conffile.mode })),
    {
      path: `${doc}/copyright`,
      text: copyrightText(lib, runtimeThirdParty(NODE_RUNTIME.version, runtime.license), parts),
      mode: 0o644,
    },
    { path: `${doc}/changelog.gz`, text: debianChangelog(product.name, release), mode: 0o644 },
    { path: `${doc}/README.Debian`, from: from(`${product.packaging}/README.Debian`), mode: 0o644 },
    {
      path: `/usr/share/lintian/overrides/${product.name}`,
      from: from(`${product.packaging}/lintian-overrides`),
      mode: 0o644,
    },
  ];
  // Relative, as Debian policy wants for links within one top-level directory (/usr).
  const links = Object.fromEntries(
    Object.entries(product.commands).map(([command, bundle]) => [
      `/usr/bin/${command}`,
      path.relative("/usr/bin", `${lib}/${bundle}`),
    ]),
  );
  return {
    name: product.name,
    version: release.debianVersion,
    architecture: "amd64",
    maintainer: MAINTAINER,
    section: "admin",
    depends: [...runtime.depends, ...product.depends],
    synopsis: product.synopsis,
    description: product.description,
    files,
    links,
    conffiles: product.conffiles.map((conffile) => conffile.path),
    scripts: {
      postinst: from(`${product.packaging}/postinst`),
      prerm: from(`${product.packaging}/prerm`),
      postrm: from(`${product.packaging}/postrm`),
    },
  };
}
