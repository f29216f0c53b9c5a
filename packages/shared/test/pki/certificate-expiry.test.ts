import { writeFile } from "node:fs/promises";
import path from "node:path";
import test from "ava";
import { certificateExpirySeconds, createClusterCa, issueNodeCertificate, scratchDir } from "../../src/index.js";

test("a certificate's expiry is its notAfter in seconds since the epoch", async (t) => {
  const parent = scratchDir(t, "lockstep-expiry");
  const dir = path.join(parent, "pki");
  await createClusterCa(dir);
  const before = Date.now();
  const { cert } = await issueNodeCertificate(dir, "pve1", { days: 10 });
  const expiry = certificateExpirySeconds(cert);
  // openssl counts the days from the moment of issue, to the second.
  t.true(expiry >= Math.floor(before / 1000) + 10 * 86_400 - 1, `${expiry}`);
  t.true(expiry <= Date.now() / 1000 + 10 * 86_400 + 1, `${expiry}`);
});

test("a file that holds no certificate is an error, not an expiry", async (t) => {
  const parent = scratchDir(t, "lockstep-expiry");
  const file = path.join(parent, "not-a.crt");
  await writeFile(file, "hello\n");
  t.throws(() => certificateExpirySeconds(file));
});
