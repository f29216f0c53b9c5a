import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { transportProblem } from "../../config/load-config.js";
import { fail, pass, warn, type CheckOutcome, type DoctorCheck } from "../check.js";

const DAY_MS = 86_400_000;
/** A certificate ending sooner than this is a warning: time to issue the next one. */
const EXPIRY_WARNING_DAYS = 30;

/** The agent's mTLS files as read: certificates and key parsed, or why they could not be. */
interface TlsMaterial {
  readonly ca: X509Certificate;
  readonly cert: X509Certificate;
  readonly key: KeyObject;
}

/**
 * The agent's certificate (tlsCert), its key (tlsKey) and the cluster CA (tlsCa): parsed,
 * the key the certificate's, the certificate issued and signed by the CA, both valid now and
 * for 30 days more (a warning below that, a failure when expired or not yet valid), and the
 * certificate naming the node, as the API checks it against the node's registered name.
 */
export const certificatesCheck: DoctorCheck = {
  id: "certificates",
  title: "TLS certificates valid",
  async run(ctx) {
    const config = ctx.config;
    if (config.transport.kind === "plaintext-loopback")
      return warn(
        "transport plaintext-loopback: no TLS at all, for loopback development only; a node's agent runs mtls",
      );
    const missing = transportProblem(config);
    if (missing) return fail(missing);
    const material = await loadMaterial(config.transport.ca, config.transport.cert, config.transport.key);
    if (typeof material === "string") return fail(material);
    return judgeCertificates(material, config.node, ctx.clock.now());
  },
};

async function loadMaterial(caFile: string, certFile: string, keyFile: string): Promise<TlsMaterial | string> {
  const read = async (what: string, file: string): Promise<string> =>
    readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot read ${what} ${file}: ${err.code ?? err.message}`);
    });
  try {
    const [ca, cert, key] = await Promise.all([
      read("tlsCa", caFile),
      read("tlsCert", certFile),
      read("tlsKey", keyFile),
    ]);
    return {
      ca: parseCert("tlsCa", caFile, ca),
      cert: parseCert("tlsCert", certFile, cert),
      key: parseKey(keyFile, key),
    };
  } catch (err) {
    return (err as Error).message;
  }
}

function parseCert(what: string, file: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new Error(`${what} ${file} holds no PEM certificate`);
  }
}

function parseKey(file: string, pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    // Never the key's text: it is a secret.
    throw new Error(`tlsKey ${file} holds no private key openssl can read`);
  }
}

/** The verdict on parsed material at `nowMs`: the worst finding, every finding in words. */
function judgeCertificates(m: TlsMaterial, node: string, nowMs: number): CheckOutcome {
  const findings: CheckOutcome[] = [];
  if (!m.ca.ca) findings.push(fail(`tlsCa (${m.ca.subject}) is not a CA certificate`));
  if (!m.cert.checkPrivateKey(m.key)) findings.push(fail("tlsKey is not the key of tlsCert"));
  if (!m.cert.checkIssued(m.ca) || !m.cert.verify(m.ca.publicKey))
    findings.push(fail(`tlsCert (${m.cert.subject}) is not issued by tlsCa (${m.ca.subject})`));
  findings.push(validity("tlsCert", m.cert, nowMs), validity("tlsCa", m.ca, nowMs));
  if (m.cert.checkHost(node) === undefined)
    findings.push(
      fail(
        `tlsCert does not name node '${node}' (subject ${m.cert.subject}, ${m.cert.subjectAltName ?? "no SAN"}): the API checks it against the node's name`,
      ),
    );
  const worst = findings.find((f) => f.status === "fail") ?? findings.find((f) => f.status === "warn");
  if (!worst)
    return pass(
      `${m.cert.subject} until ${day(m.cert.validTo)}, key matches, issued by ${m.ca.subject} (until ${day(m.ca.validTo)})`,
    );
  return {
    status: worst.status,
    seen: findings
      .filter((f) => f.status !== "pass")
      .map((f) => f.seen)
      .join("; "),
  };
}

function validity(what: string, cert: X509Certificate, nowMs: number): CheckOutcome {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (nowMs < from) return fail(`${what} is not valid before ${day(cert.validFrom)}`);
  if (nowMs > to) return fail(`${what} expired on ${day(cert.validTo)}`);
  const daysLeft = Math.floor((to - nowMs) / DAY_MS);
  if (daysLeft < EXPIRY_WARNING_DAYS)
    return warn(`${what} expires in ${daysLeft} day${daysLeft === 1 ? "" : "s"} (${day(cert.validTo)})`);
  return pass(`${what} valid for ${daysLeft} days`);
}

/** `2026-11-30`: an X.509 time as a date. */
function day(x509Time: string): string {
  return new Date(Date.parse(x509Time)).toISOString().slice(0, 10);
}
