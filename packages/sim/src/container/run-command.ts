import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { SimLayout } from "../node/sim-layout.js";
import { COREUTILS } from "./coreutils.js";
import type { ContainerCommand, ExecIo } from "./exec-io.js";
import { parseScript, UnsupportedSyntax, type Script } from "./mini-shell.js";
import { aptGet, PROGRAM_MARKER, type ProgramBehaviour } from "./packages.js";
import { systemctl } from "./systemd.js";

/** The directories of the guest's PATH: execvp's search, nothing else. */
const searchPath = (io: ExecIo): string[] => (io.env.PATH ?? "").split(":").filter(Boolean);
const EXIT = Symbol("exit");

/** What a name means inside the container: a built-in command or a simulated program file. */
function lookup(layout: SimLayout, name: string, io: ExecIo): { run: ContainerCommand; where: string } | null {
  const builtins: Record<string, ContainerCommand> = {
    ...COREUTILS,
    systemctl: (args, io2) => systemctl(layout, args, io2),
    "apt-get": (args, io2) => aptGet(layout, args, io2),
    sh: (args, io2) => shell(layout, args, io2),
    command: (args, io2) => commandV(layout, args, io2),
    env: (args, io2) => env(layout, args, io2),
  };
  const base = name.includes("/") ? path.posix.basename(name) : name;
  if (!name.includes("/") && builtins[name]) return { run: builtins[name]!, where: `/usr/bin/${name}` };
  for (const candidate of candidatesOf(name, io)) {
    const host = io.resolve(candidate);
    if (existsSync(host) && statSync(host).isFile() && statSync(host).mode & 0o111)
      return { run: (args, io2) => runProgram(host, args, io2), where: candidate };
  }
  if (name.includes("/") && builtins[base] && /^\/(usr\/)?s?bin\//.test(name))
    return { run: builtins[base]!, where: name };
  return null;
}

/**
 * GNU coreutils `env [-i] [--] [NAME=VALUE]... [COMMAND [ARG]...]`: with no command, prints the
 * (changed) environment, one `NAME=value` a line; with one, runs it with that environment,
 * found through its PATH: 127 when it is missing, 126 when it cannot run (env.c, as execvp fails).
 */
function env(layout: SimLayout, args: string[], io: ExecIo): number {
  let rest = args;
  let base: Record<string, string> = { ...io.env };
  if (rest[0] === "-i" || rest[0] === "--ignore-environment") [base, rest] = [{}, rest.slice(1)];
  if (rest[0] === "--") rest = rest.slice(1);
  if (rest[0]?.startsWith("-")) return (io.err(`env: the simulator's env knows only -i (got '${rest[0]}')\n`), 125);
  for (; rest.length > 0 && /^[^=]+=/.test(rest[0]!); rest = rest.slice(1)) {
    const at = rest[0]!.indexOf("=");
    base[rest[0]!.slice(0, at)] = rest[0]!.slice(at + 1);
  }
  const inner: ExecIo = { ...io, env: base };
  if (rest.length === 0) {
    for (const [key, value] of Object.entries(base)) io.out(`${key}=${value}\n`);
    return 0;
  }
  const [name, ...commandArgs] = rest as [string, ...string[]];
  const found = lookup(layout, name, inner);
  if (found) return found.run(commandArgs, inner);
  const blocked = candidatesOf(name, inner).some((c) => existsSync(io.resolve(c)));
  io.err(`env: '${name}': ${blocked ? "Permission denied" : "No such file or directory"}\n`);
  return blocked ? 126 : 127;
}

const candidatesOf = (name: string, io: ExecIo): string[] =>
  name.includes("/") ? [name] : searchPath(io).map((dir) => `${dir}/${name}`);

/** Runs a simulated program: a file carrying the marker line with its behaviour. */
function runProgram(host: string, _args: string[], io: ExecIo): number {
  const marker = readFileSync(host, "utf8")
    .split("\n")
    .find((l) => l.startsWith(PROGRAM_MARKER));
  if (!marker) return (io.err(`${path.basename(host)}: cannot execute: not a program the simulator knows\n`), 126);
  const behaviour = JSON.parse(marker.slice(PROGRAM_MARKER.length)) as ProgramBehaviour;
  if (behaviour.stdout) io.out(behaviour.stdout);
  if (behaviour.stderr) io.err(behaviour.stderr);
  return behaviour.exit;
}

function commandV(layout: SimLayout, args: string[], io: ExecIo): number {
  const names = args.filter((a) => a !== "-v");
  let status = 0;
  for (const name of names) {
    const found = lookup(layout, name, io);
    if (found) io.out(`${found.where}\n`);
    else status = 1;
  }
  return status;
}

/**
 * `sh -c '<script>'` and `sh <file> [args]` with the simulator's small shell. A file is read
 * from the container and parsed whole before anything runs: syntax the shell refuses fails
 * the script at once (exit 2), where dash would run the lines before it. Arguments after the
 * file are accepted, but nothing can read them: `$1` is refused like every expansion.
 */
function shell(layout: SimLayout, args: string[], io: ExecIo): number {
  const [first, second] = args;
  if (first === "-c" && second !== undefined) return runText(layout, second, io);
  if (first === undefined || first.startsWith("-"))
    return (io.err("sh: the simulator's shell runs only 'sh -c <script>' and 'sh <file> [args]'\n"), 2);
  const host = io.resolve(first);
  if (!existsSync(host)) return (io.err(`sh: 0: cannot open ${first}: No such file\n`), 2);
  if (statSync(host).isDirectory()) return (io.err(`sh: 0: cannot open ${first}: Is a directory\n`), 2);
  return runText(layout, readFileSync(host, "utf8"), io);
}

function runText(layout: SimLayout, text: string, io: ExecIo): number {
  let script: Script;
  try {
    script = parseScript(text);
  } catch (err) {
    if (err instanceof UnsupportedSyntax)
      return (io.err(`sh: unsupported by the simulator's shell: ${err.message}\n`), 2);
    throw err;
  }
  try {
    return runScript(layout, script, io);
  } catch (err) {
    if (typeof err === "object" && err !== null && EXIT in err) return (err as { [EXIT]: number })[EXIT];
    throw err;
  }
}

/**
 * Runs a command list. Its status is the last command's. Under `set -e` a failing command
 * ends the script, except, as POSIX says, a negated one or one followed by `&&` or `||`.
 */
function runScript(layout: SimLayout, script: Script, io: ExecIo): number {
  let status = 0;
  let errexit = false;
  for (const [index, { connector, command }] of script.entries()) {
    if ((connector === "&&" && status !== 0) || (connector === "||" && status === 0)) continue;
    if (command.words[0] === "set") {
      const flags = setFlags(command.words.slice(1));
      if (flags === null) {
        io.err(`sh: set: unsupported by the simulator's shell: ${command.words.slice(1).join(" ")}\n`);
        status = 2;
      } else {
        errexit = flags.errexit ?? errexit;
        status = 0;
      }
    } else {
      status = runSimple(layout, command.words, command.redirects, io);
      if (command.negate) status = status === 0 ? 1 : 0;
    }
    const endsAndOrList = index === script.length - 1 || script[index + 1]!.connector === ";";
    if (errexit && status !== 0 && !command.negate && endsAndOrList) return status;
  }
  return status;
}

/** `set -e` / `set +e` (and `-u`, harmless where nothing expands); null for anything else. */
function setFlags(args: string[]): { errexit?: boolean } | null {
  const result: { errexit?: boolean } = {};
  for (const arg of args) {
    if (!/^[-+][eu]+$/.test(arg)) return null;
    if (arg.includes("e")) result.errexit = arg.startsWith("-");
  }
  return result;
}

function runSimple(
  layout: SimLayout,
  words: string[],
  redirects: { op: string; target: string }[],
  io: ExecIo,
): number {
  const [name, ...args] = words as [string, ...string[]];
  if (name === "exit") throw { [EXIT]: Number(args[0] ?? 0) };
  let inner = io;
  for (const r of redirects) {
    // Every container has /dev/null (a device the simulated root filesystem cannot hold).
    if (r.target === "/dev/null") {
      inner = r.op === "<" ? { ...inner, stdin: () => Buffer.alloc(0) } : { ...inner, out: () => undefined };
      continue;
    }
    const host = io.resolve(r.target);
    if (r.op === "<") {
      if (!existsSync(host)) return (io.err(`sh: 1: cannot open ${r.target}: No such file\n`), 2);
      inner = { ...inner, stdin: () => readFileSync(host) };
    } else {
      if (!existsSync(path.dirname(host)))
        return (io.err(`sh: 1: cannot create ${r.target}: Directory nonexistent\n`), 2);
      if (r.op === ">") writeFileSync(host, "");
      inner = { ...inner, out: (text) => appendFileSync(host, text) };
    }
  }
  const found = lookup(layout, name, inner);
  if (!found) return (io.err(`sh: 1: ${name}: not found\n`), 127);
  return found.run(args, inner);
}

/** Runs `argv` as `pct exec` would, inside the container; returns its exit status. */
export function runInContainer(layout: SimLayout, argv: string[], io: ExecIo): number {
  const [name, ...args] = argv as [string, ...string[]];
  const found = lookup(layout, name, io);
  if (found) return found.run(args, io);
  // LXC src/lxc/attach.c lxc_attach_run_command: execvp failing with ENOENT exits 127, with
  // EACCES or ENOEXEC (a file found that cannot run) 126.
  const blocked = candidatesOf(name, io).some((c) => existsSync(io.resolve(c)));
  const reason = blocked ? "Permission denied" : "No such file or directory";
  io.err(
    `lxc-attach: ${io.vmid}: ../src/lxc/attach.c: lxc_attach_run_command: 1841 ${reason} - Failed to exec "${name}"\n`,
  );
  return blocked ? 126 : 127;
}
