import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { scratchDir } from "@lockstep/shared";
import { buildDeb, type DebPackage } from "../../scripts/package/deb-package.js";

function scratch(t: ExecutionContext): string {
  return scratchDir(t, "lockstep-deb");
}

function example(dir: string): DebPackage {
  writeFileSync(path.join(dir, "postinst"), "#!/bin/sh\nset -e\nexit 0\n");
  return {
    name: "lockstep-example",
    version: "1.0.0~rc.1",
    architecture: "all",
    maintainer: "Lockstep maintainers <maintainers@lockstep.invalid>",
    section: "admin",
    depends: ["init-system-helpers (>= 1.54~)"],
    synopsis: "an example",
    description: "First paragraph.\n\nSecond paragraph.",
    files: [
      { path: "/usr/lib/example/tool.mjs", text: "console.log(1);\n", mode: 0o755 },
      { path: "/etc/example/settings.env", text: "A=1\n", mode: 0o600 },
    ],
    links: { "/usr/bin/example-tool": "../lib/example/tool.mjs" },
    conffiles: ["/etc/example/settings.env"],
    scripts: { postinst: path.join(dir, "postinst") },
  };
}

const dpkgDeb = (...args: string[]): string => execFileSync("dpkg-deb", args, { encoding: "utf8" });

test("the same package built in other directories, at another time, is the same bytes", async (t) => {
  const dir = scratch(t);
  const first = await buildDeb(example(dir), path.join(dir, "tree-1"), path.join(dir, "out-1"), 1_700_000_000);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const second = await buildDeb(example(dir), path.join(dir, "tree-2"), path.join(dir, "out-2"), 1_700_000_000);
  t.is(path.basename(first), "lockstep-example_1.0.0~rc.1_all.deb");
  t.true(readFileSync(first).equals(readFileSync(second)));
});

test("every entry is root's, dated by the release, with the mode it was given", async (t) => {
  const dir = scratch(t);
  const deb = await buildDeb(example(dir), path.join(dir, "tree"), dir, 1_700_000_000);
  const listing = dpkgDeb("--contents", deb).trim().split("\n");
  t.true(
    listing.every((line) => line.includes(" root/root ") && line.includes(" 2023-11-14 ")),
    listing.join("\n"),
  );
  t.true(listing.some((line) => line.startsWith("-rw------- ") && line.endsWith("./etc/example/settings.env")));
  t.true(listing.some((line) => line.startsWith("-rwxr-xr-x ") && line.endsWith("./usr/lib/example/tool.mjs")));
  t.true(listing.some((line) => line.endsWith("./usr/bin/example-tool -> ../lib/example/tool.mjs")));
});

test("the control area names the conffiles, and md5sums covers every other file", async (t) => {
  const dir = scratch(t);
  const deb = await buildDeb(example(dir), path.join(dir, "tree"), dir, 1_700_000_000);
  t.is(dpkgDeb("--info", deb, "conffiles"), "/etc/example/settings.env\n");
  t.regex(dpkgDeb("--info", deb, "md5sums"), /^[0-9a-f]{32} {2}usr\/lib\/example\/tool\.mjs\n$/);
  const control = dpkgDeb("--info", deb, "control");
  t.regex(control, /^Package: lockstep-example\nVersion: 1\.0\.0~rc\.1\nArchitecture: all\n/);
  t.regex(control, /\nDescription: an example\n First paragraph\.\n \.\n Second paragraph\.\n$/);
});
