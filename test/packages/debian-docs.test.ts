import { gunzipSync } from "node:zlib";
import test from "ava";
import { copyrightText, debianChangelog, type ThirdParty } from "../../scripts/package/debian-docs.js";
import type { Release } from "../../scripts/package/release.js";

const RELEASE: Release = {
  version: "1.2.0-rc.1",
  debianVersion: "1.2.0~rc.1",
  sourceDateEpoch: 1_700_000_000,
  commit: "0123456789abcdef0123456789abcdef01234567",
  dirty: false,
};
const APACHE =
  "\n                                 Apache License\n                           Version 2.0, January 2004\n    TERMS AND CONDITIONS";

test("the changelog names the release and its commit, dated by the commit, the same bytes every time", (t) => {
  const text = gunzipSync(debianChangelog("lockstep-agent", RELEASE)).toString();
  t.regex(text, /^lockstep-agent \(1\.2\.0~rc\.1\) unstable; urgency=medium\n/);
  t.true(text.includes(RELEASE.commit));
  t.regex(text, / -- .+ <.+>  Tue, 14 Nov 2023 22:13:20 \+0000\n$/);
  t.true(
    Buffer.from(debianChangelog("lockstep-agent", RELEASE)).equals(
      Buffer.from(debianChangelog("lockstep-agent", RELEASE)),
    ),
  );
  t.regex(
    gunzipSync(debianChangelog("lockstep-agent", { ...RELEASE, dirty: true })).toString(),
    /with uncommitted changes/,
  );
});

test("the copyright file lists every bundled part and quotes every license but the Apache License itself", (t) => {
  const runtime: ThirdParty = {
    name: "Node.js",
    version: "24.0.0",
    license: "MIT and others",
    texts: [{ file: "LICENSE", text: "Node.js is licensed for use as follows: ..." }],
  };
  const parts: ThirdParty[] = [
    {
      name: "grpc",
      version: "1.0.0",
      license: "Apache-2.0",
      texts: [
        { file: "LICENSE", text: APACHE },
        { file: "NOTICE", text: "grpc notice" },
      ],
    },
    {
      name: "mit-thing",
      version: "2.0.0",
      license: "MIT",
      texts: [{ file: "LICENSE", text: "Permission is hereby granted" }],
    },
    { name: "bare", version: "3.0.0", license: "BSD-3-Clause", texts: [] },
  ];
  const text = copyrightText("/usr/lib/lockstep", runtime, parts);
  t.true(text.includes("/usr/share/common-licenses/Apache-2.0"));
  for (const line of [
    "  grpc 1.0.0: Apache-2.0",
    "  mit-thing 2.0.0: MIT",
    "  bare 3.0.0: BSD-3-Clause (its npm package carries no license file)",
  ])
    t.true(text.includes(line), line);
  t.false(text.includes("TERMS AND CONDITIONS"), "the Apache License is referred to, not copied");
  for (const quoted of ["grpc notice", "Permission is hereby granted", "Node.js is licensed for use as follows"])
    t.true(text.includes(quoted), quoted);
});
