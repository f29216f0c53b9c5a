import { generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { chmod, link, mkdir, open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { LockstepError } from "../errors/lockstep-error.js";

/** A certificate and its private key, as two PEM files. */
export interface KeyPairFiles {
  readonly cert: string;
  readonly key: string;
}

/** Where the files of one PKI directory live. */
export interface PkiLayout {
  readonly dir: string;
  readonly ca: KeyPairFiles;
  readonly nodesDir: string;
  readonly clientsDir: string;
}

/** Directories of a PKI hold the CA key: owner only. */
const PKI_DIR_MODE = 0o700;
/** Every private key file. */
const KEY_FILE_MODE = 0o600;
/** Certificates are public. */
const CERT_FILE_MODE = 0o644;

/** Proxmox node names (what `pvecm` accepts): letters, digits, inner hyphens. */
const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
/** Client certificate names: the API, or an operator. */
const CLIENT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/;

/** The layout of PKI directory `dir`: `ca.crt`/`ca.key`, `nodes/<node>.*`, `clients/<name>.*`. */
export function pkiLayout(dir: string): PkiLayout {
  const root = path.resolve(dir);
  return {
    dir: root,
    ca: { cert: path.join(root, "ca.crt"), key: path.join(root, "ca.key") },
    nodesDir: path.join(root, "nodes"),
    clientsDir: path.join(root, "clients"),
  };
}

/** The files of node `node`; the name is checked first, so it can never leave the directory. */
export function nodeFiles(layout: PkiLayout, node: string): KeyPairFiles {
  if (!NODE_NAME.test(node))
    throw new LockstepError(
      "INVALID_ARGUMENT",
      `bad node name ${JSON.stringify(node)}: letters, digits and inner hyphens, at most 63 characters (a Proxmox node name)`,
      { field: "node" },
    );
  return { cert: path.join(layout.nodesDir, `${node}.crt`), key: path.join(layout.nodesDir, `${node}.key`) };
}

/** The files of client `name`, checked like `nodeFiles`. */
export function clientFiles(layout: PkiLayout, name: string): KeyPairFiles {
  if (!CLIENT_NAME.test(name))
    throw new LockstepError(
      "INVALID_ARGUMENT",
      `bad client name ${JSON.stringify(name)}: a letter or digit, then letters, digits, '.', '_' or '-', at most 64 characters`,
      { field: "name" },
    );
  return { cert: path.join(layout.clientsDir, `${name}.crt`), key: path.join(layout.clientsDir, `${name}.key`) };
}

/** Creates `dir` (and missing parents) 0700; an existing directory's mode is left as it is. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PKI_DIR_MODE });
}

/** The first file of the pair that already exists, or null. */
export async function firstExistingFile(files: KeyPairFiles): Promise<string | null> {
  for (const file of [files.key, files.cert]) {
    if (
      await stat(file).then(
        () => true,
        () => false,
      )
    )
      return file;
  }
  return null;
}

/** A new private key, staged beside its final path and readable to the certificate maker by path. */
export interface StagedKey {
  readonly path: string;
  readonly key: KeyObject;
}

/**
 * Writes a new EC P-256 key and the certificate `makeCertificate` makes for it. The key is
 * staged first in a 0600 temp file in the same directory (openssl reads keys by path), then
 * both land by rename, key first: a crash leaves either nothing new or the key without its
 * certificate, never a certificate whose key is lost. `replace` is false for first issues:
 * the files are then linked into place, which fails rather than overwrite.
 */
export async function writeKeyPair(
  files: KeyPairFiles,
  replace: boolean,
  makeCertificate: (staged: StagedKey) => Promise<string>,
): Promise<void> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const keyTemp = await writeTemp(
    files.key,
    privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    KEY_FILE_MODE,
  );
  let certTemp: string | null = null;
  try {
    certTemp = await writeTemp(files.cert, await makeCertificate({ path: keyTemp, key: privateKey }), CERT_FILE_MODE);
    await place(keyTemp, files.key, replace);
    await place(certTemp, files.cert, replace);
  } finally {
    await rm(keyTemp, { force: true });
    if (certTemp) await rm(certTemp, { force: true });
  }
}

async function writeTemp(final: string, content: string, mode: number): Promise<string> {
  const temp = path.join(path.dirname(final), `.${path.basename(final)}.${randomBytes(6).toString("hex")}.tmp`);
  // Created with its final mode: a key is never readable to others, not even for a moment.
  const handle = await open(temp, "wx", mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temp, mode); // the umask may have narrowed a certificate's 0644
  return temp;
}

async function place(temp: string, final: string, replace: boolean): Promise<void> {
  if (replace) return rename(temp, final);
  try {
    await link(temp, final);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST")
      throw new LockstepError("ALREADY_EXISTS", `${final} already exists (written by another run at the same time)`, {
        path: final,
      });
    throw err;
  }
}
