import { X509Certificate, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import path from "node:path";
import { LockstepError } from "../errors/lockstep-error.js";
import { loadClusterCa, validityDays } from "./cluster-ca.js";
import { signCertificate, type OpensslOptions } from "./openssl.js";
import {
  clientFiles,
  ensurePrivateDir,
  firstExistingFile,
  nodeFiles,
  pkiLayout,
  writeKeyPair,
  type KeyPairFiles,
} from "./pki-layout.js";

/** Options of `issueClientCertificate`. */
export interface ClientCertificateOptions extends OpensslOptions {
  /** Validity in days; 825 by default, and never past the CA's own end. */
  readonly days?: number;
  /** Replace an existing certificate and key of the same name. */
  readonly force?: boolean;
}

/** Options of `issueNodeCertificate`. */
export interface NodeCertificateOptions extends ClientCertificateOptions {
  /** Extra subject alternative names, each `DNS:<hostname>` or `IP:<IPv4 or IPv6 address>`. */
  readonly sans?: readonly string[];
}

const DEFAULT_LEAF_DAYS = 825;
const DAY_MS = 86_400_000;
const HOST_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** One subject alternative name, checked. */
interface San {
  readonly type: "DNS" | "IP";
  readonly value: string;
}

/** What a leaf certificate must say; checked again on what openssl made. */
interface Leaf {
  readonly name: string;
  readonly sans: readonly San[];
  readonly usage: "serverAuth" | "clientAuth";
}

/**
 * Issues an agent's server certificate for Proxmox node `node` from the CA in `dir`:
 * `nodes/<node>.crt` and `nodes/<node>.key`, SAN `DNS:<node>` plus `sans`, serverAuth.
 */
export async function issueNodeCertificate(
  dir: string,
  node: string,
  options: NodeCertificateOptions = {},
): Promise<KeyPairFiles> {
  const files = nodeFiles(pkiLayout(dir), node);
  const extra = (options.sans ?? [])
    .map(parseSan)
    .filter((san) => !(san.type === "DNS" && san.value.toLowerCase() === node.toLowerCase()));
  return issueLeaf(
    dir,
    files,
    { name: node, sans: [{ type: "DNS", value: node }, ...extra], usage: "serverAuth" },
    options,
  );
}

/**
 * Issues a client certificate (the API, or an operator's `lockstep-node`) named `name` from
 * the CA in `dir`: `clients/<name>.crt` and `clients/<name>.key`, SAN `DNS:<name>`, clientAuth.
 */
export async function issueClientCertificate(
  dir: string,
  name: string,
  options: ClientCertificateOptions = {},
): Promise<KeyPairFiles> {
  const files = clientFiles(pkiLayout(dir), name);
  return issueLeaf(dir, files, { name, sans: [{ type: "DNS", value: name }], usage: "clientAuth" }, options);
}

/** `DNS:<hostname>` or `IP:<address>`; anything else is refused with the value named. */
function parseSan(raw: string): San {
  const match = /^(DNS|IP):(.+)$/.exec(raw);
  const value = match?.[2] ?? "";
  const valid =
    match?.[1] === "DNS"
      ? value.length <= 253 && value.split(".").every((label) => HOST_LABEL.test(label))
      : isIP(value) !== 0 && !value.includes("%"); // node:net accepts IPv6 zone IDs; a certificate cannot hold them
  if (!match || !valid)
    throw new LockstepError(
      "INVALID_ARGUMENT",
      `bad SAN ${JSON.stringify(raw)}: expected DNS:<hostname> or IP:<IPv4 or IPv6 address>`,
      { field: "san" },
    );
  return { type: match[1] as San["type"], value };
}

async function issueLeaf(
  dir: string,
  files: KeyPairFiles,
  leaf: Leaf,
  options: ClientCertificateOptions,
): Promise<KeyPairFiles> {
  const days = validityDays(options.days ?? DEFAULT_LEAF_DAYS);
  const ca = await loadClusterCa(dir);
  const caEnd = Date.parse(ca.cert.validTo);
  if (Date.now() + days * DAY_MS > caEnd) {
    const left = Math.floor((caEnd - Date.now()) / DAY_MS);
    throw new LockstepError(
      "INVALID_ARGUMENT",
      `a ${days}-day certificate would outlive the cluster CA (valid until ${ca.cert.validTo}); use at most ${left} days`,
      { field: "days" },
    );
  }
  await ensurePrivateDir(path.dirname(files.cert));
  const existing = options.force ? null : await firstExistingFile(files);
  if (existing)
    throw new LockstepError(
      "ALREADY_EXISTS",
      `${existing} already exists; issue with --force to replace it (then restart what uses it)`,
      { path: existing },
    );
  await writeKeyPair(files, options.force ?? false, async (staged) => {
    const extensions = {
      basicConstraints: "critical,CA:FALSE",
      keyUsage: "critical,digitalSignature",
      extendedKeyUsage: leaf.usage,
      subjectAltName: leaf.sans.map((san) => `${san.type}:${san.value}`).join(","),
      subjectKeyIdentifier: "hash",
      authorityKeyIdentifier: "keyid:always",
    };
    const pem = await signCertificate(
      { commonName: leaf.name, extensions, days, keyPath: staged.path, issuer: ca.files },
      options,
    );
    checkLeafCertificate(pem, staged.key, ca.cert, leaf);
    return pem;
  });
  return files;
}

/** What openssl made is checked with Node's own X.509 code before anything lands. */
function checkLeafCertificate(pem: string, key: KeyObject, caCert: X509Certificate, leaf: Leaf): void {
  const cert = new X509Certificate(pem);
  const names = (cert.subjectAltName ?? "").split(", ");
  const missing = leaf.sans.find((san) =>
    san.type === "DNS" ? !names.includes(`DNS:${san.value}`) : cert.checkIP(san.value) === undefined,
  );
  const problem =
    !cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)
      ? "does not chain to the cluster CA"
      : cert.ca
        ? "is a CA"
        : !cert.checkPrivateKey(key)
          ? "does not match its key"
          : cert.subject !== `CN=${leaf.name}`
            ? `names ${JSON.stringify(cert.subject)}`
            : missing
              ? `lacks ${missing.type}:${missing.value}`
              : !cert.keyUsage?.includes(leaf.usage === "serverAuth" ? SERVER_AUTH : CLIENT_AUTH)
                ? `lacks ${leaf.usage}`
                : null;
  if (problem)
    throw new LockstepError(
      "VERIFICATION_FAILED",
      `openssl made a certificate for ${leaf.name} that ${problem}; nothing was written`,
    );
}
