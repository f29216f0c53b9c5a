import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import { credentials, ServerCredentials, type ChannelCredentials, type ClientOptions } from "@grpc/grpc-js";
import { ConfigError } from "../config/config-schema.js";
import { LockstepError } from "../errors/lockstep-error.js";

/** PEM files of one side of a mutual-TLS connection. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * An agent's server side: its own certificate, and only clients whose certificate chains
 * to the cluster CA get through the handshake.
 */
export function agentServerCredentials(files: TlsFiles): ServerCredentials {
  const pem = readPem(files);
  return ServerCredentials.createSsl(pem.ca, [{ cert_chain: pem.cert, private_key: pem.key }], true);
}

/**
 * A client of one node's agent. The agent must present a certificate from the cluster CA
 * issued to `serverName` (the node's registered name), whatever address it answers on: a
 * certificate of another node, or from another CA, fails the handshake.
 */
export function agentClientCredentials(
  files: TlsFiles,
  serverName: string | null,
): { credentials: ChannelCredentials; channelOptions: ClientOptions } {
  const pem = readPem(files);
  return {
    credentials: credentials.createSsl(pem.ca, pem.key, pem.cert),
    channelOptions: serverName
      ? { "grpc.ssl_target_name_override": serverName, "grpc.default_authority": serverName }
      : {},
  };
}

/**
 * A client of an agent addressed by IP with no name to expect: the certificate must list
 * that IP. SNI cannot carry an IP (RFC 6066), so a fixed name is sent and the check is ours.
 */
function ipIdentityCredentials(
  files: TlsFiles,
  ip: string,
): { credentials: ChannelCredentials; channelOptions: ClientOptions } {
  const pem = readPem(files);
  return {
    credentials: credentials.createSsl(pem.ca, pem.key, pem.cert, {
      checkServerIdentity: (_sni, cert) => checkServerIdentity(ip, cert),
    }),
    channelOptions: { "grpc.ssl_target_name_override": "lockstep-agent" },
  };
}

function readPem(files: TlsFiles): { ca: Buffer; cert: Buffer; key: Buffer } {
  const read = (what: keyof TlsFiles): Buffer => {
    try {
      return readFileSync(files[what]);
    } catch (err) {
      // The path is named, the content never is.
      throw new ConfigError(
        `cannot read the TLS ${what} file ${files[what]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  };
  return { ca: read("ca"), cert: read("cert"), key: read("key") };
}

/** How a client reaches agents: mutual TLS, or plaintext to loopback agents in development. */
export type AgentTransport =
  { readonly mode: "mtls"; readonly tls: TlsFiles } | { readonly mode: "plaintext-loopback" };

const LOOPBACK_TARGET = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+$/;

/**
 * The client options for one agent. With mTLS the agent must prove it is `serverName`
 * (null: the host of the target); plaintext is refused for anything but a loopback target.
 */
export function agentChannel(
  transport: AgentTransport,
  target: string,
  serverName: string | null,
): { credentials: ChannelCredentials; channelOptions: ClientOptions } {
  if (transport.mode === "mtls") {
    const host = target.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
    return serverName === null && isIP(host)
      ? ipIdentityCredentials(transport.tls, host)
      : agentClientCredentials(transport.tls, serverName);
  }
  if (!LOOPBACK_TARGET.test(target))
    throw new LockstepError(
      "FAILED_PRECONDITION",
      `plaintext-loopback transport only reaches agents on loopback addresses, not ${target}; configure mTLS`,
    );
  return { credentials: credentials.createInsecure(), channelOptions: {} };
}
