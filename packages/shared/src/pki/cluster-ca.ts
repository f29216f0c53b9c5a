import { X509Certificate, type KeyObject } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { LockstepError } from "../errors/lockstep-error.js";
import { signCertificate, type OpensslOptions } from "./openssl.js";
import { ensurePrivateDir, firstExistingFile, pkiLayout, writeKeyPair, type KeyPairFiles } from "./pki-layout.js";

/** Options of `createClusterCa`. */
export interface ClusterCaOptions extends OpensslOptions {
  /** Validity in days; 3650 by default. */
  readonly days?: number;
  /** The CA's common name; "Lockstep cluster CA" by default. */
  readonly name?: string;
}

/** The cluster CA as issuing finds it: its files and its parsed certificate. */
export interface ClusterCa {
  readonly files: KeyPairFiles;
  readonly cert: X509Certificate;
}

const DEFAULT_CA_NAME = "Lockstep cluster CA";
const DEFAULT_CA_DAYS = 3650;
// No '/', '=', '+' or backslash, which openssl's -subj syntax would read as structure.
const CA_NAME = /^[a-zA-Z0-9][a-zA-Z0-9 ._()-]{0,63}$/;
const MAX_DAYS = 36_500;

const CA_EXTENSIONS = {
  basicConstraints: "critical,CA:TRUE,pathlen:0",
  keyUsage: "critical,keyCertSign,cRLSign",
  subjectKeyIdentifier: "hash",
};

/**
 * Creates the CA of a new cluster in `dir` (created 0700): `ca.key` (EC P-256, 0600) and a
 * self-signed `ca.crt`. Refuses when either file exists: a new CA would silently invalidate
 * every certificate the cluster uses.
 */
export async function createClusterCa(dir: string, options: ClusterCaOptions = {}): Promise<KeyPairFiles> {
  const days = validityDays(options.days ?? DEFAULT_CA_DAYS);
  const name = options.name ?? DEFAULT_CA_NAME;
  if (!CA_NAME.test(name))
    throw new LockstepError(
      "INVALID_ARGUMENT",
      `bad CA name ${JSON.stringify(name)}: letters, digits, spaces and . _ ( ) -, at most 64 characters`,
      { field: "name" },
    );
  const layout = pkiLayout(dir);
  await ensurePrivateDir(layout.dir);
  const existing = await firstExistingFile(layout.ca);
  if (existing)
    throw new LockstepError(
      "ALREADY_EXISTS",
      `${existing} already exists: refusing to replace the cluster CA, which would break every certificate issued from it (move the directory away to really start over)`,
      { path: existing },
    );
  await writeKeyPair(layout.ca, false, async (staged) => {
    const pem = await signCertificate(
      { commonName: name, extensions: CA_EXTENSIONS, days, keyPath: staged.path },
      options,
    );
    checkCaCertificate(pem, staged.key, name);
    return pem;
  });
  return layout.ca;
}

/** The CA of `dir`, checked to be usable for issuing: present, a CA, unexpired, key at hand. */
export async function loadClusterCa(dir: string): Promise<ClusterCa> {
  const layout = pkiLayout(dir);
  const pem = await readFile(layout.ca.cert).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT")
      throw new LockstepError("FAILED_PRECONDITION", `no cluster CA in ${layout.dir}; run lockstep-pki init first`, {
        path: layout.ca.cert,
      });
    throw err;
  });
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new LockstepError("FAILED_PRECONDITION", `${layout.ca.cert} is not a PEM certificate`, {
      path: layout.ca.cert,
    });
  }
  if (!cert.ca)
    throw new LockstepError("FAILED_PRECONDITION", `${layout.ca.cert} is not a CA certificate`, {
      path: layout.ca.cert,
    });
  if (Date.parse(cert.validTo) <= Date.now())
    throw new LockstepError("FAILED_PRECONDITION", `the cluster CA in ${layout.dir} expired on ${cert.validTo}`, {
      path: layout.ca.cert,
    });
  if (
    !(await stat(layout.ca.key).then(
      (s) => s.isFile(),
      () => false,
    ))
  ) {
    throw new LockstepError(
      "FAILED_PRECONDITION",
      `no CA key at ${layout.ca.key}: issuing needs it (if it is kept offline, bring it back for the issuing)`,
      { path: layout.ca.key },
    );
  }
  return { files: layout.ca, cert };
}

/** A certificate validity in whole days, 1 to 36500. */
export function validityDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS)
    throw new LockstepError(
      "INVALID_ARGUMENT",
      `bad validity ${days}: days must be a whole number from 1 to ${MAX_DAYS}`,
      { field: "days" },
    );
  return days;
}

function checkCaCertificate(pem: string, key: KeyObject, name: string): void {
  const cert = new X509Certificate(pem);
  const problem = !cert.ca
    ? "is not a CA"
    : !cert.verify(cert.publicKey)
      ? "is not self-signed"
      : !cert.checkPrivateKey(key)
        ? "does not match its key"
        : cert.subject !== `CN=${name}`
          ? `names ${JSON.stringify(cert.subject)}`
          : null;
  if (problem)
    throw new LockstepError(
      "VERIFICATION_FAILED",
      `openssl made a CA certificate that ${problem}; nothing was written`,
    );
}
