import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from "node:fs";
import type { ContainerCommand, ExecIo } from "./exec-io.js";

function readFileIn(io: ExecIo, name: string, tool: string): Buffer | null {
  try {
    const host = io.resolve(name);
    if (statSync(host).isDirectory()) {
      io.err(`${tool}: ${name}: Is a directory\n`);
      return null;
    }
    return readFileSync(host);
  } catch {
    io.err(`${tool}: ${name}: No such file or directory\n`);
    return null;
  }
}

function statIn(io: ExecIo, name: string): Stats | null {
  try {
    return statSync(io.resolve(name));
  } catch {
    return null;
  }
}

const fileType = (s: Stats): string =>
  s.isDirectory() ? "directory" : s.isFile() ? (s.size === 0 ? "regular empty file" : "regular file") : "other";

function statFormat(format: string, name: string, s: Stats): string {
  return format.replace(/%([sanUGYF%])/g, (_, c: string) => {
    switch (c) {
      case "s":
        return String(s.size);
      case "a":
        return (s.mode & 0o7777).toString(8);
      case "n":
        return name;
      case "U":
        return s.uid === 0 ? "root" : String(s.uid);
      case "G":
        return s.gid === 0 ? "root" : String(s.gid);
      case "Y":
        return String(Math.floor(s.mtimeMs / 1000));
      case "F":
        return fileType(s);
      default:
        return "%";
    }
  });
}

/** `test` and `[`: the file and string tests guard scripts use. */
function test(args: string[], io: ExecIo): number {
  const a = args[args.length - 1] === "]" ? args.slice(0, -1) : args;
  if (a[0] === "!") return test(a.slice(1), io) === 0 ? 1 : 0;
  if (a.length === 1) return a[0] ? 0 : 1;
  if (a.length === 3 && (a[1] === "=" || a[1] === "!=")) return (a[0] === a[2]) === (a[1] === "=") ? 0 : 1;
  if (a.length === 2) {
    const [op, operand] = a as [string, string];
    if (op === "-n") return operand.length > 0 ? 0 : 1;
    if (op === "-z") return operand.length === 0 ? 0 : 1;
    const s = statIn(io, operand);
    switch (op) {
      case "-e":
        return s ? 0 : 1;
      case "-f":
        return s?.isFile() ? 0 : 1;
      case "-d":
        return s?.isDirectory() ? 0 : 1;
      case "-s":
        return s && s.size > 0 ? 0 : 1;
      case "-x":
        return s && s.mode & 0o111 ? 0 : 1;
      case "-r":
        return s ? 0 : 1;
    }
  }
  io.err(`test: unsupported expression: ${args.join(" ")}\n`);
  return 2;
}

/** The coreutils subset the agent and guard scripts need, acting on the container's files only. */
export const COREUTILS: Record<string, ContainerCommand> = {
  true: () => 0,
  false: () => 1,
  test,
  "[": test,
  echo: (args, io) => {
    const noNewline = args[0] === "-n";
    io.out(`${(noNewline ? args.slice(1) : args).join(" ")}${noNewline ? "" : "\n"}`);
    return 0;
  },
  printf: (args, io) => {
    let i = 1;
    io.out(
      (args[0] ?? "")
        .replace(/\\n/g, "\n")
        .replace(/\\t/g, "\t")
        .replace(/%s/g, () => args[i++] ?? ""),
    );
    return 0;
  },
  cat: (args, io) => {
    if (args.length === 0) return (io.out(io.stdin()), 0);
    let status = 0;
    for (const name of args) {
      const content = readFileIn(io, name, "cat");
      if (content) io.out(content);
      else status = 1;
    }
    return status;
  },
  sha256sum: (args, io) => {
    if (args.length === 0) return (io.out(`${createHash("sha256").update(io.stdin()).digest("hex")}  -\n`), 0);
    let status = 0;
    for (const name of args) {
      const content = readFileIn(io, name, "sha256sum");
      if (content) io.out(`${createHash("sha256").update(content).digest("hex")}  ${name}\n`);
      else status = 1;
    }
    return status;
  },
  stat: (args, io) => {
    const c = args.indexOf("-c");
    const format = c >= 0 ? args[c + 1] : undefined;
    const names = args.filter((_, i) => i !== c && i !== c + 1);
    let status = 0;
    for (const name of names) {
      const s = statIn(io, name);
      if (!s) {
        io.err(`stat: cannot statx '${name}': No such file or directory\n`);
        status = 1;
      } else io.out(`${format ? statFormat(format, name, s) : `  File: ${name}\n  Size: ${s.size}\t${fileType(s)}`}\n`);
    }
    return status;
  },
  mkdir: (args, io) => {
    const parents = args.includes("-p");
    for (const name of args.filter((a) => !a.startsWith("-"))) {
      const host = io.resolve(name);
      if (existsSync(host)) {
        if (parents) continue;
        return (io.err(`mkdir: cannot create directory '${name}': File exists\n`), 1);
      }
      try {
        mkdirSync(host, { recursive: parents });
      } catch {
        return (io.err(`mkdir: cannot create directory '${name}': No such file or directory\n`), 1);
      }
    }
    return 0;
  },
  touch: (args, io) => {
    for (const name of args) {
      const host = io.resolve(name);
      try {
        if (!existsSync(host)) writeFileSync(host, "");
      } catch {
        return (io.err(`touch: cannot touch '${name}': No such file or directory\n`), 1);
      }
    }
    return 0;
  },
  rm: (args, io) => {
    const force = args.some((a) => /^-[a-z]*f/.test(a));
    const recursive = args.some((a) => /^-[a-z]*r/i.test(a));
    for (const name of args.filter((a) => !a.startsWith("-"))) {
      const host = io.resolve(name, false);
      if (host === io.rootfs) return (io.err("rm: refusing to remove '/'\n"), 1);
      if (!existsSync(host) && !force) return (io.err(`rm: cannot remove '${name}': No such file or directory\n`), 1);
      rmSync(host, { force: true, recursive });
    }
    return 0;
  },
  chmod: (args, io) => {
    const [mode, ...names] = args;
    if (!mode || !/^[0-7]{3,4}$/.test(mode)) return (io.err(`chmod: invalid mode: '${mode ?? ""}'\n`), 1);
    for (const name of names) chmodSync(io.resolve(name), parseInt(mode, 8));
    return 0;
  },
  ls: (args, io) => {
    const name = args.filter((a) => !a.startsWith("-"))[0] ?? "/";
    try {
      io.out(
        readdirSync(io.resolve(name))
          .sort()
          .map((e) => `${e}\n`)
          .join(""),
      );
      return 0;
    } catch {
      return (io.err(`ls: cannot access '${name}': No such file or directory\n`), 2);
    }
  },
  grep: (args, io) => {
    const quiet = args.includes("-q");
    const [pattern, ...files] = args.filter((a) => !a.startsWith("-"));
    if (pattern === undefined) return (io.err("Usage: grep [OPTION]... PATTERNS [FILE]...\n"), 2);
    const regex = new RegExp(pattern);
    const text = files.length
      ? files.map((f) => readFileIn(io, f, "grep")?.toString() ?? "").join("\n")
      : io.stdin().toString();
    const hits = text.split("\n").filter((line) => regex.test(line));
    if (!quiet) io.out(hits.map((l) => `${l}\n`).join(""));
    return hits.length > 0 ? 0 : 1;
  },
  hostname: (_args, io) => {
    const content = readFileIn(io, "/etc/hostname", "hostname");
    io.out(content ? content.toString() : "localhost\n");
    return 0;
  },
  sleep: (args) => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(Number(args[0] ?? 0), 3600) * 1000);
    return 0;
  },
};
