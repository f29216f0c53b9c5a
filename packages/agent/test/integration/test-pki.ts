import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  createClusterCa,
  issueClientCertificate,
  issueNodeCertificate,
  scratchDir,
  type TestScope,
  type TlsFiles,
} from "@lockstep/shared";

/**
 * One cluster CA per test process, made with the project's own PKI code, and certificates
 * issued on first use: node certificates name the node (and 127.0.0.1, for the node CLI),
 * client certificates name their holder.
 */
export interface TestPki {
  readonly dir: string;
  node(name: string): Promise<TlsFiles>;
  client(name: string): Promise<TlsFiles>;
}

let shared: Promise<TestPki> | null = null;

export function testPki(): Promise<TestPki> {
  shared ??= makePki(processDir("lockstep-test-pki"));
  return shared;
}

/**
 * Another CA, unrelated to the cluster's: its certificates must be refused everywhere. It
 * lives as long as the test `t` (kept when it fails).
 */
export async function foreignPki(t: TestScope): Promise<TestPki> {
  return makePki(scratchDir(t, "lockstep-foreign-pki"));
}

/** A directory shared by the whole test process (no test owns it), removed when it exits. */
export function processDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function makePki(dir: string): Promise<TestPki> {
  await createClusterCa(dir);
  const ca = path.join(dir, "ca.crt");
  const issued = new Map<string, Promise<TlsFiles>>();
  const once = (kind: string, name: string, issue: () => Promise<unknown>): Promise<TlsFiles> => {
    const key = `${kind}/${name}`;
    if (!issued.has(key))
      issued.set(
        key,
        issue().then(() => ({
          ca,
          cert: path.join(dir, kind, `${name}.crt`),
          key: path.join(dir, kind, `${name}.key`),
        })),
      );
    return issued.get(key)!;
  };
  return {
    dir,
    node: (name) => once("nodes", name, () => issueNodeCertificate(dir, name, { sans: ["IP:127.0.0.1"] })),
    client: (name) => once("clients", name, () => issueClientCertificate(dir, name)),
  };
}
