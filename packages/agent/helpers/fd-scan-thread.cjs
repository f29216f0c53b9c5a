// The fd scan's worker thread (packages/agent/src/proc/fd-scan-worker.ts). Plain JavaScript
// in a file of its own: a worker thread does not get the TypeScript loader the tests run with.
// One pass over `<root>`: each process's fd directory listed, each link read, and the fdinfo
// `lock:` lines read only of descriptors whose link is a file directly in one of the asked
// directories. Every call is synchronous: in a thread of its own that blocks nothing, and it
// costs a third of what one asynchronous call per descriptor costs the event loop. Requests
// are answered one at a time, in order. A process or descriptor that vanishes is skipped.
"use strict";
const { readdirSync, readFileSync, readlinkSync } = require("node:fs");
const { parentPort, workerData } = require("node:worker_threads");
const root = workerData.root;

parentPort.on("message", (request) => {
  try {
    parentPort.postMessage({ id: request.id, open: scan(new Set(request.dirs)) });
  } catch (err) {
    parentPort.postMessage({ id: request.id, error: String((err && err.message) || err) });
  }
});

function scan(dirs) {
  const open = [];
  for (const name of readdirSync(root)) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const fdDir = root + "/" + name + "/fd/";
    let fds;
    try {
      fds = readdirSync(fdDir);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target;
      try {
        target = readlinkSync(fdDir + fd);
      } catch {
        continue;
      }
      if (!dirs.has(target.slice(0, target.lastIndexOf("/")) || "/")) continue;
      open.push({ pid: Number(name), fd, target, lockLines: lockLines(root + "/" + name + "/fdinfo/" + fd) });
    }
  }
  return open;
}

// Closed between its link's read and now: no lock lines.
function lockLines(fdinfo) {
  try {
    return readFileSync(fdinfo, "utf8")
      .split("\n")
      .filter((line) => line.startsWith("lock:"));
  } catch {
    return [];
  }
}
