import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import tls from "node:tls";
import test from "ava";
import {
  createClusterCa,
  issueClientCertificate,
  issueNodeCertificate,
  type KeyPairFiles,
  scratchDir,
  SuiteScope,
} from "../../src/index.js";

interface Cluster {
  readonly ca: Buffer;
  readonly node: KeyPairFiles;
  readonly client: KeyPairFiles;
}

/** A cluster's PKI: its CA, node pve1 (also 127.0.0.1) and client api. */
async function cluster(parent: string, name: string): Promise<Cluster> {
  const dir = path.join(parent, name);
  const ca = await createClusterCa(dir);
  const node = await issueNodeCertificate(dir, "pve1", { sans: ["IP:127.0.0.1"] });
  const client = await issueClientCertificate(dir, "api");
  return { ca: readFileSync(ca.cert), node, client };
}

const suite = new SuiteScope();
let ours: Cluster;
let theirs: Cluster;
let server: tls.Server;
let port = 0;
const clientErrors: string[] = [];
const accepted: string[] = [];
// The same node, but letting every client in and noting why it would have refused each one:
// node:tls destroys a refused socket without saying why.
let probe: tls.Server;
let probePort = 0;
const verdicts: (string | null)[] = [];

test.before(async () => {
  const parent = scratchDir(suite, "lockstep-pki-tls");
  [ours, theirs] = await Promise.all([cluster(parent, "ours"), cluster(parent, "theirs")]);
  // The agent's side: its node certificate, and only clients of the cluster CA get through.
  server = tls.createServer(
    {
      key: readFileSync(ours.node.key),
      cert: readFileSync(ours.node.cert),
      ca: ours.ca,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      accepted.push(String(socket.getPeerCertificate().subject.CN));
      socket.end("welcome\n");
    },
  );
  server.on("tlsClientError", (err) => clientErrors.push(err.message));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  probe = tls.createServer(
    {
      key: readFileSync(ours.node.key),
      cert: readFileSync(ours.node.cert),
      ca: ours.ca,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      verdicts.push(socket.authorized ? null : String(socket.authorizationError));
      socket.end();
    },
  );
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  probePort = (probe.address() as AddressInfo).port;
});

test.afterEach.always((t) => suite.noteResult(t));

test.after.always(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await new Promise((resolve) => probe?.close(resolve));
  await suite.close();
});

/** Connects and reads what the server says; resolves with the data, or the error that ended it. */
function talk(
  options: tls.ConnectionOptions,
  to = port,
): Promise<{ data: string; error: string | null; authorized: boolean }> {
  return new Promise((resolve) => {
    let data = "";
    let authorized = false;
    const socket = tls.connect(
      { host: "127.0.0.1", port: to, ca: ours.ca, ...options },
      () => (authorized = socket.authorized),
    );
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("error", (err) => resolve({ data, error: err.message, authorized }));
    socket.on("close", () => resolve({ data, error: null, authorized }));
  });
}

const files = (pair: KeyPairFiles): { cert: Buffer; key: Buffer } => ({
  cert: readFileSync(pair.cert),
  key: readFileSync(pair.key),
});

/** Why the node refuses a client presenting `pair` (null: it would not). */
async function verdict(pair: KeyPairFiles): Promise<string | null> {
  const count = verdicts.length;
  await talk({ ...files(pair), servername: "pve1" }, probePort);
  return verdicts.length > count ? verdicts[count]! : "no verdict";
}

test.serial("a client certificate from the cluster CA completes a mutual-TLS handshake with the node", async (t) => {
  const byName = await talk({ ...files(ours.client), servername: "pve1" });
  t.deepEqual(byName, { data: "welcome\n", error: null, authorized: true });
  const byAddress = await talk(files(ours.client)); // the node is checked against its IP SAN
  t.deepEqual(byAddress, { data: "welcome\n", error: null, authorized: true });
  t.deepEqual(accepted, ["api", "api"]);
  t.is(await verdict(ours.client), null);
});

test.serial("a client certificate from another CA is refused by the node", async (t) => {
  const before = { errors: clientErrors.length, accepted: accepted.length };
  const out = await talk({ ...files(theirs.client), servername: "pve1" });
  t.is(out.data, "");
  t.is(accepted.length, before.accepted);
  t.true(clientErrors.length > before.errors, "the node reports a failed handshake");
  // Both CAs are named "Lockstep cluster CA": the issuer's name matches, its signature does not.
  t.is(await verdict(theirs.client), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
});

test.serial("a client without a certificate is refused by the node", async (t) => {
  const before = clientErrors.length;
  const out = await talk({ servername: "pve1" });
  t.is(out.data, "");
  t.regex(out.error ?? "", /certificate required|alert number 116/i);
  t.regex(clientErrors.slice(before).join("\n"), /peer did not return a certificate/i);
});

test.serial("a node certificate is refused as a client certificate (serverAuth only)", async (t) => {
  const before = { errors: clientErrors.length, accepted: accepted.length };
  const out = await talk({ ...files(ours.node), servername: "pve1" });
  t.is(out.data, "");
  t.is(accepted.length, before.accepted);
  t.true(clientErrors.length > before.errors, "the node reports a failed handshake");
  t.is(await verdict(ours.node), "INVALID_PURPOSE");
});

test.serial("the client refuses a node whose certificate is from another CA", async (t) => {
  const out = await talk({ ...files(ours.client), ca: theirs.ca, servername: "pve1" });
  t.regex(out.error ?? "", /unable to verify the first certificate|self[- ]signed|local issuer/i);
  t.is(out.data, "");
});
