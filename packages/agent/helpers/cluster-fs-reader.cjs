"use strict";
// The agent's hands in the cluster filesystem (/etc/pve, pmxcfs): src/node/fs-reader-process.ts
// runs this as a process of its own. Its reads are synchronous on purpose: a read stuck in a
// hung FUSE mount then blocks only this process, which the agent kills (SIGKILL ends a FUSE
// wait) and replaces, never the agent's event loop nor libuv's thread pool. A worker thread
// would not do: Node joins every worker thread at exit, so a thread stuck in the kernel would
// keep the agent from ever exiting.
//
// Protocol: one JSON request per line on stdin ({id, op, path, text?}), one JSON reply per
// line on stdout ({id, value} or {id, error: <errno code>, message}); `{"ready":true}` first.
const fs = require("node:fs");
const readline = require("node:readline");

const ops = {
  read: (file) => fs.readFileSync(file, "utf8"),
  readdir: (dir) => fs.readdirSync(dir),
  lstat: (file) => {
    const st = fs.lstatSync(file);
    return { mode: st.mode, symlink: st.isSymbolicLink(), directory: st.isDirectory() };
  },
  // pve-common src/PVE/File.pm file_set_contents: `<file>.tmp.<pid>` created exclusively with
  // mode 0644, then renamed over the target, as every Proxmox writer of /etc/pve does.
  write: (file, text) => {
    const temp = `${file}.tmp.${process.pid}`;
    try {
      fs.rmSync(temp, { force: true });
      fs.writeFileSync(temp, text, { flag: "wx", mode: 0o644 });
      fs.renameSync(temp, file);
    } catch (err) {
      try {
        fs.unlinkSync(temp);
      } catch {
        // Never written: nothing to remove.
      }
      throw err;
    }
    return null;
  },
};

function answer(request) {
  const op = Object.hasOwn(ops, request.op) ? ops[request.op] : null;
  if (!op) return { id: request.id, error: "EINVAL", message: `unknown operation ${request.op}` };
  try {
    return { id: request.id, value: op(request.path, request.text) };
  } catch (err) {
    return { id: request.id, error: err.code || "EIO", message: err.message };
  }
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  process.stdout.write(`${JSON.stringify(answer(JSON.parse(line)))}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdout.write('{"ready":true}\n');
