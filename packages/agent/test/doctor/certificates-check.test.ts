// The certificates check: the agent's TLS files as the doctor judges them.
import test from "ava";
import { certificatesCheck } from "../../src/doctor/checks/certificates-check.js";
import { foreignPki, testPki } from "../integration/test-pki.js";
import { datedCertificate } from "./dated-certificate.js";
import { checkOn, simulatedNode } from "./doctor-harness.js";

// One at a time: each test starts the simulator's tools, and two CPUs share them with the suite.
test.serial("the certificates check fails on an expired node certificate", async (t) => {
  const pki = await testPki();
  const expired = datedCertificate(pki.dir, "pve1", "20200101000000Z", "20210101000000Z", t);
  const result = await checkOn(t, simulatedNode(t), certificatesCheck, {
    LOCKSTEP_AGENT_TLS_CERT: expired.cert,
    LOCKSTEP_AGENT_TLS_KEY: expired.key,
  });
  t.is(result.status, "fail");
  t.is(result.seen, "tlsCert expired on 2021-01-01");
});

test.serial("the certificates check fails on a certificate not valid yet", async (t) => {
  const pki = await testPki();
  const future = datedCertificate(pki.dir, "pve1", "20990101000000Z", "21000101000000Z", t);
  const result = await checkOn(t, simulatedNode(t), certificatesCheck, {
    LOCKSTEP_AGENT_TLS_CERT: future.cert,
    LOCKSTEP_AGENT_TLS_KEY: future.key,
  });
  t.is(result.status, "fail");
  t.is(result.seen, "tlsCert is not valid before 2099-01-01");
});

test.serial("the certificates check warns about a certificate that ends within 30 days", async (t) => {
  const pki = await testPki();
  const soon = datedCertificate(
    pki.dir,
    "pve1",
    "20200101000000Z",
    new Date(Date.now() + 10.5 * 86_400_000).toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z",
    t,
  );
  const result = await checkOn(t, simulatedNode(t), certificatesCheck, {
    LOCKSTEP_AGENT_TLS_CERT: soon.cert,
    LOCKSTEP_AGENT_TLS_KEY: soon.key,
  });
  t.is(result.status, "warn");
  t.regex(result.seen, /^tlsCert expires in 10 days \(\d{4}-\d\d-\d\d\)$/);
});

test.serial("the certificates check fails when the key is not the certificate's", async (t) => {
  const pki = await testPki();
  const [node, other] = await Promise.all([pki.node("pve1"), pki.client("someone-else")]);
  const result = await checkOn(t, simulatedNode(t), certificatesCheck, {
    LOCKSTEP_AGENT_TLS_CERT: node.cert,
    LOCKSTEP_AGENT_TLS_KEY: other.key,
  });
  t.is(result.status, "fail");
  t.is(result.seen, "tlsKey is not the key of tlsCert");
});

test.serial("the certificates check fails on a certificate of another CA", async (t) => {
  const foreign = await (await foreignPki(t)).node("pve1");
  const result = await checkOn(t, simulatedNode(t), certificatesCheck, {
    LOCKSTEP_AGENT_TLS_CERT: foreign.cert,
    LOCKSTEP_AGENT_TLS_KEY: foreign.key,
  });
  t.is(result.status, "fail");
  t.is(result.seen, "tlsCert (CN=pve1) is not issued by tlsCa (CN=Lockstep cluster CA)");
});

test.serial("the certificates check fails on a certificate of another node", async (t) => {
  const other = await (await testPki()).node("pve7");
  const result = await checkOn(t, simulatedNode(t), certificatesCheck, {
    LOCKSTEP_AGENT_TLS_CERT: other.cert,
    LOCKSTEP_AGENT_TLS_KEY: other.key,
  });
  t.is(result.status, "fail");
  t.regex(
    result.seen,
    /^tlsCert does not name node 'pve1' \(subject CN=pve7, DNS:pve7, IP Address:127\.0\.0\.1\): the API checks it against the node's name$/,
  );
});

test.serial("the certificates check fails when the agent's configuration names no key", async (t) => {
  const result = await checkOn(t, simulatedNode(t), certificatesCheck, { LOCKSTEP_AGENT_TLS_KEY: undefined });
  t.is(result.status, "fail");
  t.regex(
    result.seen,
    /^tlsKey is required with transport mtls \(set it in the config file or LOCKSTEP_AGENT_TLS_KEY;/,
  );
});
