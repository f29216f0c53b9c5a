import {
  ServerInterceptingCall,
  ServerListenerBuilder,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from "@grpc/grpc-js";
import type { Logger } from "@lockstep/shared";
import { ClientNotAllowedError } from "../errors.js";
import { toGrpcError } from "./error-mapping.js";

type AuthContext = ReturnType<ServerInterceptingCallInterface["getAuthContext"]>;
type Status = Parameters<ServerInterceptingCallInterface["sendStatus"]>[0];

/**
 * Lets in only clients whose certificate names one of `allowed`. The handshake has already
 * checked that the certificate chains to the cluster CA; this narrows the CA's clients to
 * the ones meant for this node (the API, named operators).
 */
export function clientAllowlist(allowed: readonly string[], logger: Logger): ServerInterceptor {
  const names = new Set(allowed);
  return (method, call) => {
    const presented = certificateNames(call.getAuthContext());
    if (presented.some((name) => names.has(name))) return new ServerInterceptingCall(call);
    logger.warn("refused a client certificate not in tlsAllowedClients", {
      method: method.path,
      names: presented,
      peer: call.getPeer(),
    });
    const refusal = toGrpcError(new ClientNotAllowedError(presented), logger, method.path) as Status;
    const swallow = new ServerListenerBuilder()
      .withOnReceiveMetadata(() => call.sendStatus(refusal))
      .withOnReceiveMessage(() => undefined)
      .withOnReceiveHalfClose(() => undefined)
      .build();
    return new ServerInterceptingCall(call, { start: (next) => next(swallow) });
  };
}

/** The subject CN and every DNS name of the peer's certificate; none without one (plaintext). */
export function certificateNames(context: AuthContext | null): string[] {
  const cert = context?.sslPeerCertificate;
  if (!cert) return [];
  const dns = (cert.subjectaltname ?? "")
    .split(", ")
    .filter((entry) => entry.startsWith("DNS:"))
    .map((entry) => entry.slice(4));
  const cn = cert.subject?.CN;
  return [...new Set([...(typeof cn === "string" ? [cn] : []), ...dns])];
}
