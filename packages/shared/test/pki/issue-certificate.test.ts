import { createPrivateKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import {
  createClusterCa,
  issueClientCertificate,
  issueNodeCertificate,
  LockstepError,
  OpensslError,
  scratchDir,
} from "../../src/index.js";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** A PKI directory with a CA, removed after the test when it passed. */
async function pkiDir(t: ExecutionContext, withCa = true): Promise<string> {
  const parent = scratchDir(t, "lockstep-pki");
  const dir = path.join(parent, "pki");
  if (withCa) await createClusterCa(dir);
  return dir;
}

const certificate = async (file: string): Promise<X509Certificate> => new X509Certificate(await readFile(file));

test("a node certificate chains to the CA, names the node and its extra SANs, and is not a CA", async (t) => {
  const dir = await pkiDir(t);
  const files = await issueNodeCertificate(dir, "pve1", { sans: ["IP:127.0.0.1", "IP:::1", "DNS:pve1.example.com"] });
  t.deepEqual(files, { cert: path.join(dir, "nodes", "pve1.crt"), key: path.join(dir, "nodes", "pve1.key") });
  const ca = await certificate(path.join(dir, "ca.crt"));
  const cert = await certificate(files.cert);
  t.true(cert.verify(ca.publicKey));
  t.true(cert.checkIssued(ca));
  t.false(cert.ca);
  t.is(cert.subject, "CN=pve1");
  t.is(cert.checkHost("pve1"), "pve1");
  t.is(cert.checkHost("pve1.example.com"), "pve1.example.com");
  t.is(cert.checkHost("pve2"), undefined);
  t.is(cert.checkIP("127.0.0.1"), "127.0.0.1");
  t.truthy(cert.checkIP("0:0:0:0:0:0:0:1"));
  t.deepEqual(cert.keyUsage, [SERVER_AUTH]);
  t.true(cert.checkPrivateKey(createPrivateKey(await readFile(files.key))));
  t.is(Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000), 825);
});

test("a client certificate names the client and is for clientAuth only", async (t) => {
  const dir = await pkiDir(t);
  const files = await issueClientCertificate(dir, "lockstep-api", { days: 90 });
  t.is(files.cert, path.join(dir, "clients", "lockstep-api.crt"));
  const cert = await certificate(files.cert);
  t.true(cert.verify((await certificate(path.join(dir, "ca.crt"))).publicKey));
  t.is(cert.subject, "CN=lockstep-api");
  t.is(cert.subjectAltName, "DNS:lockstep-api");
  t.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
  t.false(cert.ca);
  t.is(Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000), 90);
});

test("every certificate gets its own random 128-bit serial", async (t) => {
  const dir = await pkiDir(t);
  const serials = [(await certificate(path.join(dir, "ca.crt"))).serialNumber];
  for (const name of ["a", "b", "c"])
    serials.push((await certificate((await issueClientCertificate(dir, name)).cert)).serialNumber);
  t.is(new Set(serials).size, serials.length);
  for (const serial of serials) t.regex(serial, /^[89A-F][0-9A-F]{31}$/);
});

test("key files are 0600 and every directory 0700", async (t) => {
  const dir = await pkiDir(t);
  await issueNodeCertificate(dir, "pve1");
  await issueClientCertificate(dir, "api");
  for (const sub of ["", "nodes", "clients"])
    t.is((await stat(path.join(dir, sub))).mode & 0o777, 0o700, `${sub || "."} is 0700`);
  for (const key of ["ca.key", "nodes/pve1.key", "clients/api.key"])
    t.is((await stat(path.join(dir, key))).mode & 0o777, 0o600, `${key} is 0600`);
  t.deepEqual(await readdir(path.join(dir, "nodes")), ["pve1.crt", "pve1.key"].sort(), "no temp files remain");
});

test("a leaf certificate is not overwritten without force, and force replaces both files", async (t) => {
  const dir = await pkiDir(t);
  const files = await issueNodeCertificate(dir, "pve1");
  const [cert, key] = [await readFile(files.cert, "utf8"), await readFile(files.key, "utf8")];
  const err = await t.throwsAsync(issueNodeCertificate(dir, "pve1"), {
    instanceOf: LockstepError,
    message: /pve1\.key already exists; issue with --force to replace it/,
  });
  t.is(err?.code, "ALREADY_EXISTS");
  t.is(await readFile(files.cert, "utf8"), cert);
  await issueNodeCertificate(dir, "pve1", { force: true, sans: ["IP:10.0.0.5"] });
  t.not(await readFile(files.cert, "utf8"), cert);
  t.not(await readFile(files.key, "utf8"), key);
  const replaced = await certificate(files.cert);
  t.is(replaced.checkIP("10.0.0.5"), "10.0.0.5");
  t.true(replaced.checkPrivateKey(createPrivateKey(await readFile(files.key))));
  t.is((await stat(files.key)).mode & 0o777, 0o600);
});

test("bad node and client names are refused with the name in the message", async (t) => {
  const dir = await pkiDir(t);
  for (const node of ["bad_name", "-pve1", "pve1-", "../etc/passwd", "a".repeat(64), ""]) {
    const err = await t.throwsAsync(issueNodeCertificate(dir, node), { instanceOf: LockstepError });
    t.true(err?.message.startsWith(`bad node name ${JSON.stringify(node)}:`), err?.message);
    t.is(err?.code, "INVALID_ARGUMENT");
  }
  await t.throwsAsync(issueClientCertificate(dir, ".hidden"), { message: /^bad client name "\.hidden":/ });
  await t.throwsAsync(issueClientCertificate(dir, "api/../../x"), { message: /^bad client name "api\/..\/..\/x":/ });
  t.false(existsSync(path.join(dir, "nodes")));
});

test("bad SANs are refused with the bad value in the message", async (t) => {
  const dir = await pkiDir(t);
  for (const san of [
    "DNS:bad_host",
    "DNS:",
    "DNS:-x.example",
    "IP:300.1.1.1",
    "IP:fe80::1%eth0",
    "URI:https://x",
    "127.0.0.1",
    "dns:pve1",
    "DNS:a,IP:1.2.3.4",
  ]) {
    await t.throwsAsync(
      issueNodeCertificate(dir, "pve1", { sans: [san] }),
      {
        instanceOf: LockstepError,
        message: `bad SAN ${JSON.stringify(san)}: expected DNS:<hostname> or IP:<IPv4 or IPv6 address>`,
      },
      san,
    );
  }
  t.false(existsSync(path.join(dir, "nodes", "pve1.key")));
});

test("issuing without a CA names the command that makes one", async (t) => {
  const dir = await pkiDir(t, false);
  const err = await t.throwsAsync(issueNodeCertificate(dir, "pve1"), {
    instanceOf: LockstepError,
    message: `no cluster CA in ${dir}; run lockstep-pki init first`,
  });
  t.is(err?.code, "FAILED_PRECONDITION");
  await t.throwsAsync(issueClientCertificate(dir, "api"), {
    message: /^no cluster CA in .*; run lockstep-pki init first$/,
  });
});

test("issuing without the CA key says the key is missing", async (t) => {
  const dir = await pkiDir(t);
  await rm(path.join(dir, "ca.key"));
  await t.throwsAsync(issueNodeCertificate(dir, "pve1"), { message: /^no CA key at .*ca\.key: issuing needs it/ });
});

test("a certificate that would outlive the CA is refused", async (t) => {
  const parent = scratchDir(t, "lockstep-pki");
  await createClusterCa(parent, { days: 30 });
  await t.throwsAsync(issueClientCertificate(parent, "api"), {
    message: /^a 825-day certificate would outlive the cluster CA \(valid until .*\); use at most 29 days$/,
  });
  await t.notThrowsAsync(issueClientCertificate(parent, "api", { days: 29 }));
});

test("an openssl failure carries openssl's stderr but never key material", async (t) => {
  const dir = await pkiDir(t);
  // A CA key that does not belong to the CA certificate: openssl refuses to sign with it.
  const wrong = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string;
  await writeFile(path.join(dir, "ca.key"), wrong, { mode: 0o600 });
  const err = await t.throwsAsync(issueNodeCertificate(dir, "pve1"), {
    instanceOf: OpensslError,
    message: /^openssl req failed \(exit 1\): /,
  });
  t.is(err?.code, "COMMAND_FAILED");
  t.regex(err?.stderr ?? "", /do not match/i);
  const body = wrong.split("\n")[1]!;
  const seen = JSON.stringify({ message: err?.message, stderr: err?.stderr, metadata: err?.metadata });
  t.false(seen.includes(body.slice(0, 20)));
  t.false(seen.includes("PRIVATE KEY"));
  t.deepEqual(await readdir(path.join(dir, "nodes")), [], "the staged key is removed");
});
