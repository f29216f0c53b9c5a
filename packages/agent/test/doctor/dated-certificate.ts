import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { scratchDir, type TestScope } from "@lockstep/shared";

/**
 * A certificate for `cn` issued by the CA in `caDir` (`ca.crt`, `ca.key`) valid from `start`
 * to `end` (openssl's `YYYYMMDDHHMMSSZ`), made with `openssl ca`, which alone of openssl 3.0's
 * commands sets both dates: expired and not-yet-valid certificates for the doctor's tests.
 * Its files live as long as the test `t` (kept when it fails).
 */
export function datedCertificate(
  caDir: string,
  cn: string,
  start: string,
  end: string,
  t: TestScope,
): { cert: string; key: string } {
  const dir = scratchDir(t, "doctor-cert");
  const file = (name: string): string => path.join(dir, name);
  writeFileSync(file("index.txt"), "");
  writeFileSync(file("serial"), "01\n");
  writeFileSync(
    file("ca.cnf"),
    `[ca]\ndefault_ca = test\n[test]\ndatabase = ${file("index.txt")}\nnew_certs_dir = ${dir}\nserial = ${file("serial")}\npolicy = any\ndefault_md = sha256\nunique_subject = no\n[any]\ncommonName = supplied\n`,
  );
  const openssl = (args: string[]): void => void execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file("node.key")]);
  openssl([
    "req",
    "-new",
    "-config",
    "/dev/null",
    "-key",
    file("node.key"),
    "-subj",
    `/CN=${cn}`,
    "-out",
    file("node.csr"),
  ]);
  openssl([
    "ca",
    "-batch",
    "-config",
    file("ca.cnf"),
    "-cert",
    path.join(caDir, "ca.crt"),
    "-keyfile",
    path.join(caDir, "ca.key"),
    "-in",
    file("node.csr"),
    "-out",
    file("node.crt"),
    "-startdate",
    start,
    "-enddate",
    end,
    "-notext",
  ]);
  return { cert: file("node.crt"), key: file("node.key") };
}
