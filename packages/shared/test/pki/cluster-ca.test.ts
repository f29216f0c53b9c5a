import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { execFile } from "node:child_process";
import test from "ava";
import { createClusterCa, LockstepError, scratchDir, type TestScope } from "../../src/index.js";

async function tempDir(t: TestScope): Promise<string> {
  const parent = scratchDir(t, "lockstep-pki");
  return path.join(parent, "pki");
}

async function extensionText(cert: string): Promise<string> {
  const { stdout } = await promisify(execFile)("openssl", [
    "x509",
    "-in",
    cert,
    "-noout",
    "-ext",
    "basicConstraints,keyUsage",
  ]);
  return stdout;
}

test("init makes a self-signed CA that may sign leaf certificates only", async (t) => {
  const dir = await tempDir(t);
  const files = await createClusterCa(dir);
  t.deepEqual(files, { cert: path.join(dir, "ca.crt"), key: path.join(dir, "ca.key") });
  const ca = new X509Certificate(await readFile(files.cert));
  t.true(ca.ca);
  t.true(ca.verify(ca.publicKey), "signed by its own key");
  t.true(ca.checkIssued(ca));
  t.is(ca.subject, "CN=Lockstep cluster CA");
  t.is(ca.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  const text = await extensionText(files.cert);
  t.regex(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  t.regex(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
});

test("init is valid for 3650 days unless told otherwise, under the name it is given", async (t) => {
  const dir = await tempDir(t);
  const ca = new X509Certificate(await readFile((await createClusterCa(dir)).cert));
  t.is(Math.round((Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / 86_400_000), 3650);
  const other = await tempDir(t);
  const named = new X509Certificate(
    await readFile((await createClusterCa(other, { name: "Acme (staging) CA", days: 30 })).cert),
  );
  t.is(named.subject, "CN=Acme (staging) CA");
  t.is(Math.round((Date.parse(named.validTo) - Date.parse(named.validFrom)) / 86_400_000), 30);
});

test("init creates the directory 0700 and the key 0600, and leaves no temp files", async (t) => {
  const dir = await tempDir(t);
  await createClusterCa(dir);
  t.is((await stat(dir)).mode & 0o777, 0o700);
  t.is((await stat(path.join(dir, "ca.key"))).mode & 0o777, 0o600);
  t.is((await stat(path.join(dir, "ca.crt"))).mode & 0o777, 0o644);
  t.deepEqual((await readdir(dir)).sort(), ["ca.crt", "ca.key"]);
});

test("init refuses a directory that already holds a CA and leaves it untouched", async (t) => {
  const dir = await tempDir(t);
  await createClusterCa(dir);
  const before = await readFile(path.join(dir, "ca.crt"), "utf8");
  const err = await t.throwsAsync(createClusterCa(dir), {
    instanceOf: LockstepError,
    message: /ca\.key already exists: refusing to replace the cluster CA/,
  });
  t.is(err?.code, "ALREADY_EXISTS");
  t.is(await readFile(path.join(dir, "ca.crt"), "utf8"), before);
});

test("init refuses a directory holding only a CA certificate", async (t) => {
  const dir = await tempDir(t);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "ca.crt"), "a CA someone else made\n");
  await t.throwsAsync(createClusterCa(dir), { instanceOf: LockstepError, message: /ca\.crt already exists/ });
  t.false(existsSync(path.join(dir, "ca.key")));
});

test("init refuses a bad CA name or validity before writing anything", async (t) => {
  const dir = await tempDir(t);
  await t.throwsAsync(createClusterCa(dir, { name: "Acme/O=Evil" }), {
    instanceOf: LockstepError,
    message: /^bad CA name "Acme\/O=Evil"/,
  });
  await t.throwsAsync(createClusterCa(dir, { days: 0 }), {
    instanceOf: LockstepError,
    message: /^bad validity 0: days must be a whole number/,
  });
  t.false(existsSync(dir));
});
