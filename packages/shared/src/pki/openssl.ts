import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { LockstepError } from "../errors/lockstep-error.js";
import { scrubSecrets } from "../logging/logger.js";
import type { KeyPairFiles } from "./pki-layout.js";

/** How openssl is run: the side effects of the PKI, passed in with defaults. */
export interface OpensslOptions {
  /** The executable, found on PATH by default. */
  readonly openssl?: string;
  /** Each openssl run is killed after this long (default 30 s). */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const STDERR_CHARS = 2_000;

/**
 * openssl failed, could not be started, or timed out. `stderr` is openssl's own text (trimmed,
 * scrubbed); key material never reaches it, because keys are handed to openssl by path only.
 */
export class OpensslError extends LockstepError {
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(message: string, exitCode: number | null, stderr: string) {
    super("COMMAND_FAILED", message, { exit_code: String(exitCode ?? "none") });
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Runs openssl with an argv array (never a shell, nothing on stdin) and returns its stdout. */
function runOpenssl(args: readonly string[], options: OpensslOptions = {}): Promise<string> {
  const binary = options.openssl ?? "openssl";
  const verb = args[0] ?? "";
  return new Promise((resolve, reject) => {
    const child = execFile(
      binary,
      args,
      { timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, killSignal: "SIGKILL", encoding: "utf8" },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const text = scrubSecrets(stderr.trim()).slice(-STDERR_CHARS);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT")
          return reject(
            new OpensslError(`${binary} was not found; install openssl (Debian: apt-get install openssl)`, null, ""),
          );
        if (err.killed)
          return reject(
            new OpensslError(
              `openssl ${verb} did not finish within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`,
              null,
              text,
            ),
          );
        const exitCode = typeof code === "number" ? code : null;
        reject(
          new OpensslError(
            `openssl ${verb} failed${exitCode === null ? "" : ` (exit ${exitCode})`}: ${text.split("\n")[0] || "no message"}`,
            exitCode,
            text,
          ),
        );
      },
    );
    child.stdin?.end(); // never a prompt: a passphrase question would fail instead of hanging
  });
}

/** One certificate for `openssl req -x509` to make. */
export interface CertificateRequest {
  /** The subject's common name; callers pass validated names only (no `/`, `\\`, `+`, `=`). */
  readonly commonName: string;
  /** X.509v3 extensions in openssl's syntax, e.g. `basicConstraints: "critical,CA:FALSE"`. */
  readonly extensions: Readonly<Record<string, string>>;
  readonly days: number;
  /** The subject's private key (PEM), by path. */
  readonly keyPath: string;
  /** The signing CA; absent for a self-signed certificate. */
  readonly issuer?: KeyPairFiles;
}

/**
 * Makes a certificate with `openssl req -x509` and a random 128-bit serial, and returns it as
 * PEM. The system openssl.cnf is not read (`-config /dev/null`): its default extensions (a
 * `v3_ca` section) would otherwise slip into every certificate.
 */
export async function signCertificate(request: CertificateRequest, options: OpensslOptions = {}): Promise<string> {
  const args = [
    "req",
    "-new",
    "-x509",
    "-config",
    "/dev/null",
    "-key",
    request.keyPath,
    "-subj",
    `/CN=${request.commonName}`,
    "-sha256",
    "-days",
    String(request.days),
    "-set_serial",
    randomSerial(),
  ];
  for (const [name, value] of Object.entries(request.extensions)) args.push("-addext", `${name}=${value}`);
  if (request.issuer) args.push("-CA", request.issuer.cert, "-CAkey", request.issuer.key);
  return runOpenssl(args, options);
}

/**
 * A 128-bit serial from 16 random bytes, top bit forced on so every serial has the full length
 * (127 random bits; RFC 5280 allows up to 20 octets, CA/B rules ask for 64 random bits).
 */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! | 0x80;
  return `0x${bytes.toString("hex")}`;
}
