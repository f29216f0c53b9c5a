import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test, { type ExecutionContext } from "ava";
import { scratchDir } from "../../src/index.js";

// The real binary runs the built code: `pnpm exec tsc -b` first (scripts/test.sh does).
const CLI = fileURLToPath(new URL("../../bin/lockstep-pki.js", import.meta.url));
const BUILT = fileURLToPath(new URL("../../dist/pki/pki-main.js", import.meta.url));

function pki(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, LOCKSTEP_PKI_DIR: "", ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

async function tempDir(t: ExecutionContext): Promise<string> {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run pnpm exec tsc -b first`);
  const parent = scratchDir(t, "lockstep-pki-cli");
  return path.join(parent, "pki");
}

test("lockstep-pki makes a CA, a node certificate with an IP SAN and a client certificate", async (t) => {
  const dir = await tempDir(t);
  const init = await pki(["init", "--dir", dir]);
  t.deepEqual(init, { code: 0, stdout: `${dir}/ca.crt\n${dir}/ca.key\n`, stderr: "" });
  const node = await pki(["node", "pve1", "--dir", dir, "--san", "IP:127.0.0.1", "--san", "DNS:pve1.lan"]);
  t.deepEqual(node, { code: 0, stdout: `${dir}/nodes/pve1.crt\n${dir}/nodes/pve1.key\n`, stderr: "" });
  const client = await pki(["client", "api", "--days", "30"], { LOCKSTEP_PKI_DIR: dir });
  t.deepEqual(client, { code: 0, stdout: `${dir}/clients/api.crt\n${dir}/clients/api.key\n`, stderr: "" });

  const ca = new X509Certificate(readFileSync(`${dir}/ca.crt`));
  const cert = new X509Certificate(readFileSync(`${dir}/nodes/pve1.crt`));
  t.true(cert.verify(ca.publicKey));
  t.is(cert.checkIP("127.0.0.1"), "127.0.0.1");
  t.is(cert.checkHost("pve1.lan"), "pve1.lan");
  t.true(new X509Certificate(readFileSync(`${dir}/clients/api.crt`)).verify(ca.publicKey));
});

test("lockstep-pki exits 2 with one line on bad input", async (t) => {
  const dir = await tempDir(t);
  await pki(["init", "--dir", dir]);
  const cases: [string[], RegExp][] = [
    [["node", "bad_name", "--dir", dir], /^lockstep-pki: bad node name "bad_name": /],
    [["node", "pve1", "--dir", dir, "--san", "URI:x"], /^lockstep-pki: bad SAN "URI:x": /],
    [
      ["client", "api", "--dir", dir, "--days", "soon"],
      /^lockstep-pki: --days must be a whole number of days, got "soon"/,
    ],
    [["init", "--dir", dir, "--force"], /^lockstep-pki: --force does not apply to init/],
    [["node", "--dir", dir], /^lockstep-pki: node takes one name, got 0/],
    [["node", "pve1"], /^lockstep-pki: --dir is required \(or set LOCKSTEP_PKI_DIR\)/],
    [["sign", "--dir", dir], /^lockstep-pki: unknown command "sign"/],
    [["node", "pve1", "--dir", dir, "--bogus"], /^lockstep-pki: Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const out = await pki(args);
    t.is(out.code, 2, args.join(" "));
    t.regex(out.stderr, message);
    t.is(out.stderr.split("\n").length, 2, "one line");
    t.is(out.stdout, "");
  }
  t.false(existsSync(`${dir}/nodes`), "nothing was issued");
});

test("lockstep-pki exits 1 when the CA is missing or would be replaced", async (t) => {
  const dir = await tempDir(t);
  t.deepEqual(await pki(["client", "api", "--dir", dir]), {
    code: 1,
    stdout: "",
    stderr: `lockstep-pki: no cluster CA in ${dir}; run lockstep-pki init first\n`,
  });
  await pki(["init", "--dir", dir]);
  const again = await pki(["init", "--dir", dir]);
  t.is(again.code, 1);
  t.regex(again.stderr, /^lockstep-pki: .*ca\.key already exists: refusing to replace the cluster CA/);
});

test("lockstep-pki --help prints the usage", async (t) => {
  const out = await pki(["--help"]);
  t.is(out.code, 0);
  t.regex(out.stdout, /^usage: lockstep-pki init +--dir D/);
});
