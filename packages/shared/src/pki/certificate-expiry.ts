import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * When the first certificate of a PEM file stops being valid (its notAfter), in seconds
 * since the epoch, the unit Prometheus's `*_timestamp_seconds` gauges and `time()` use.
 */
export function certificateExpirySeconds(pemFile: string): number {
  const cert = new X509Certificate(readFileSync(pemFile));
  return Date.parse(cert.validTo) / 1000;
}
