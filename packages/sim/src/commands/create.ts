import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { bootSystemd } from "../container/systemd.js";
import { configExists, newSection, readConfig, removeConfig, writeConfig, type CtConfig } from "../node/ct-config.js";
import { randomMac } from "../node/mac-address.js";
import { PctError, parameterError } from "../node/pct-error.js";
import { updateRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { readStorageConfig, storageEntry } from "../storage/storage-config.js";
import { allocVolume, freeVolume } from "../storage/volumes.js";
import { taskCommand, type TaskIo } from "../tasks/task-command.js";
import { checkVmidUnused } from "./check-vmid-unused.js";
import { checkDnsName, parsePctArgs, parseVmid } from "./pct-args.js";
import { lockConfig, withConfigLock, type SimContext } from "./sim-context.js";
import { checkCfsQuorum } from "../pmxcfs/quorum.js";

const VALUE_OPTIONS = [
  "hostname",
  "storage",
  "rootfs",
  "memory",
  "swap",
  "cores",
  "net0",
  "features",
  "tags",
  "description",
  "arch",
  "ostype",
  "password",
  "ssh-public-keys",
  "nameserver",
  "searchdomain",
  "timezone",
];
const BOOLEAN_OPTIONS = ["unprivileged", "start", "onboot", "protection", "force"];
// What create_vm takes out of the parameters before update_pct_config writes the rest.
const NOT_CONFIG = [
  "storage",
  "rootfs",
  "password",
  "ssh-public-keys",
  "start",
  "force",
  "unprivileged",
  "description",
];

/** What the pct process decided before the fork. */
interface CreatePlan {
  readonly vmid: number;
  readonly template: string;
  /** The new rootfs: where to allocate, how big (GB), and the rest of its property string. */
  readonly rootfs: { storage: string; sizeGb: number; rest: string };
  /** The config from the parameters (update_pct_config), without disks and without `lock`. */
  readonly values: Record<string, string>;
  readonly description: string;
  readonly password: string | null;
  readonly sshKeys: string | null;
  readonly start: boolean;
}

/**
 * `pct create <vmid> <template> [options]`, in pve-container API2/LXC.pm `create_vm`'s order.
 * Before the fork: argument checks, check_vmid_unused, the storage checks, and
 * create_and_lock_config (a `lock: create` placeholder under a 5 s flock, released before
 * the fork). The worker: lock_config (10 s flock for the whole build), disks allocated under
 * the placeholder, the archive extracted, a complete lock-free "safe config" written after OS
 * detection, post_create_hook, then the final config with the defaults.
 */
export const create = taskCommand<CreatePlan>({
  before(ctx, args) {
    const { positionals, options } = parsePctArgs(args, ["vmid", "ostemplate"], {
      values: VALUE_OPTIONS,
      booleans: BOOLEAN_OPTIONS,
    });
    const vmid = parseVmid(positionals[0]!);
    checkCfsQuorum(ctx.node.layout);
    validate(options);
    checkVmidUnused(ctx.node.layout, vmid);
    // create_vm: `my $storage = extract_param($param, 'storage') // 'local';`
    const storage = options.storage ?? "local";
    const rootfs = rootfsSpec(options.rootfs, storage);
    checkStorage(ctx, rootfs.storage);
    const values = configValues(options);
    const emsg = `unable to create CT ${vmid} -`;
    try {
      createAndLockConfig(ctx, vmid);
    } catch (err) {
      throw new PctError(`${emsg} ${(err as Error).message}`);
    }
    return {
      type: "vzcreate",
      id: String(vmid),
      prepared: {
        vmid,
        template: positionals[1]!,
        rootfs,
        values,
        description: options.description ?? "",
        password: options.password ?? null,
        sshKeys: options["ssh-public-keys"] ?? null,
        start: options.start === "1",
      },
    };
  },
  body(ctx, plan, io) {
    const lock = lockConfig(ctx, plan.vmid, 10);
    try {
      build(ctx, plan, io);
    } finally {
      lock.release();
    }
    if (plan.start) startNow(ctx, plan.vmid);
  },
});

/** The worker's `$code` under lock_config, with its own cleanup on error. */
function build(ctx: SimContext, plan: CreatePlan, io: TaskIo): void {
  const { layout, name: node } = ctx.node;
  const { vmid } = plan;
  readConfig(layout, node, vmid);
  const vollist: string[] = [];
  try {
    const template = templateFile(ctx, plan.template);
    const entry = storageEntry(readStorageConfig(layout), plan.rootfs.storage);
    const volid = allocVolume(layout, entry, vmid, plan.rootfs.sizeGb);
    vollist.push(volid);
    if (entry.type === "lvm" || entry.type === "lvmthin")
      io.print(`  Logical volume "${volid.split(":")[1]}" created.\n`);
    if (entry.type !== "zfspool")
      io.print(
        `Creating filesystem with ${plan.rootfs.sizeGb * 262144} 4k blocks and ${plan.rootfs.sizeGb * 65536} inodes\n`,
      );
    const conf: Record<string, string> = {
      ...plan.values,
      rootfs: `${volid}${plan.rootfs.rest},size=${plan.rootfs.sizeGb}G`,
    };
    io.checkpoint();
    io.print(`extracting archive '/var/lib/vz/template/cache/${template}'\n`);
    ctx.fault.at("midway");
    layOutRootfs(rootfsPath(layout, vmid));
    io.print(`Total bytes read: 524503040 (501MiB, 180MiB/s)\n`);
    io.checkpoint();
    // PVE::LXC::Setup->new detects the OS (ostype) and the architecture.
    conf.ostype ??= template.startsWith("ubuntu") ? "ubuntu" : "debian";
    if (conf.arch === undefined) {
      conf.arch = "amd64";
      io.print("Detected container architecture: amd64\n");
    }
    // create_vm: `write_config($vmid, $conf); # safe config (after OS detection)`: no lock, no defaults yet.
    writeConfig(layout, vmid, toConfig(conf, plan.description));
    io.checkpoint();
    postCreateHook(rootfsPath(layout, vmid), conf, plan);
    io.checkpoint();
    // create_vm's defaults, set only after setup: hostname, memory, swap.
    conf.hostname ||= `CT${vmid}`;
    conf.memory ||= "512";
    conf.swap ??= "512";
    writeConfig(layout, vmid, toConfig(conf, plan.description));
  } catch (err) {
    // create_vm's error path: destroy_disks, then destroy_config, then `die "$emsg $err"`.
    for (const volid of vollist) freeVolume(layout, volid);
    rmSync(path.dirname(rootfsPath(layout, vmid)), { recursive: true, force: true });
    // `eval { destroy_config($vmid) }; warn $@ if $@;`: a config /etc/pve refuses to remove
    // (no quorum: pmxcfs answers EACCES) stays, with AbstractConfig.pm destroy_config's words.
    try {
      if (configExists(layout, vmid)) removeConfig(layout, vmid);
    } catch (cleanup) {
      io.print(`failed to remove config file: ${errnoText(cleanup)}\n`);
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new PctError(`unable to create CT ${vmid} - ${message}`, err instanceof PctError ? err.exitCode : 255);
  }
}

/** AbstractConfig.pm `create_and_lock_config`: 5 s flock, check_vmid_unused again, check_lock, `lock: create`. */
function createAndLockConfig(ctx: SimContext, vmid: number): void {
  withConfigLock(
    ctx,
    vmid,
    () => {
      checkVmidUnused(ctx.node.layout, vmid);
      writeConfig(ctx.node.layout, vmid, { main: newSection({ lock: "create" }), snapshots: new Map() });
    },
    5,
  );
}

/**
 * create_vm's `$check_and_activate_storage`: storage_check_enabled (`storage '<id>' does not
 * exist`), then a parameter error when its content lacks `rootdir`.
 */
function checkStorage(ctx: SimContext, id: string): void {
  const entry = storageEntry(readStorageConfig(ctx.node.layout), id);
  if (entry.properties.disable === "1") throw new PctError(`storage '${id}' is disabled`);
  if (!entry.content.includes("rootdir"))
    throw parameterError("storage", `storage '${id}' does not support container directories`);
}

/**
 * The rootfs parameter: `<storage>:<GB>` or `<GB>` (create_vm adds the default storage), with
 * options after a comma; no rootfs at all is `$storage:4` (4 GB).
 */
function rootfsSpec(value: string | undefined, storage: string): CreatePlan["rootfs"] {
  if (value === undefined) return { storage, sizeGb: 4, rest: "" };
  const [volume, ...rest] = value.split(",");
  const m = /^(?:([a-zA-Z][a-zA-Z0-9_.-]*):)?(\d+(?:\.\d+)?)$/.exec(volume!);
  if (!m)
    throw parameterError("rootfs", "invalid format - the simulator only creates new volumes (<storage>:<size in GB>)");
  const options = rest.filter((o) => !o.startsWith("size="));
  return { storage: m[1] ?? storage, sizeGb: Number(m[2]), rest: options.map((o) => `,${o}`).join("") };
}

function configValues(options: Record<string, string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) if (!NOT_CONFIG.includes(key)) values[key] = value;
  if (values.net0) values.net0 = withHwaddr(values.net0);
  // create_vm: `$unprivileged = 1 if !defined($unprivileged)`; `$conf->{unprivileged} = 1 if $unprivileged`.
  if (options.unprivileged !== "0") values.unprivileged = "1";
  return values;
}

function toConfig(values: Record<string, string>, description: string): CtConfig {
  return { main: newSection({ ...values }, description), snapshots: new Map() };
}

function templateFile(ctx: SimContext, template: string): string {
  const match = /^([a-zA-Z0-9_.-]+):vztmpl\/(.+)$/.exec(template);
  const file = match && match[1] === "local" ? path.join(ctx.node.layout.templateCache, match[2]!) : null;
  if (!file || !existsSync(file)) throw new PctError(`volume '${template}' does not exist`);
  return match![2]!;
}

function layOutRootfs(rootfs: string): void {
  for (const dir of [
    "etc/systemd/system",
    "lib/systemd/system",
    "usr/bin",
    "usr/sbin",
    "usr/local/bin",
    "root",
    "tmp",
    "var/log",
    "opt",
  ])
    mkdirSync(path.join(rootfs, dir), { recursive: true });
  writeFileSync(path.join(rootfs, "etc/hostname"), "localhost\n");
  writeFileSync(
    path.join(rootfs, "etc/os-release"),
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
  );
  writeFileSync(path.join(rootfs, "etc/shadow"), "root:*:19000:0:99999:7:::\n", { mode: 0o640 });
}

/** pve-container LXC/Setup/Base.pm `post_create_hook`: root's password and SSH keys, the hostname. */
function postCreateHook(rootfs: string, conf: Record<string, string>, plan: CreatePlan): void {
  if (plan.password !== null)
    writeFileSync(path.join(rootfs, "etc/shadow"), "root:$5$simulated$:19000:0:99999:7:::\n", { mode: 0o640 });
  if (plan.sshKeys !== null) {
    mkdirSync(path.join(rootfs, "root/.ssh"), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(rootfs, "root/.ssh/authorized_keys"), `${plan.sshKeys.trimEnd()}\n`, { mode: 0o600 });
  }
  // set_hostname: `$conf->{hostname} || 'localhost'`, before create_vm's CT<vmid> default.
  writeFileSync(path.join(rootfs, "etc/hostname"), `${(conf.hostname || "localhost").replace(/\..*$/, "")}\n`);
}

function startNow(ctx: SimContext, vmid: number): void {
  updateRuntime(ctx.node.layout, vmid, (s) => {
    s.running = true;
    s.startedAt = Date.now();
  });
  bootSystemd(ctx.node.layout, vmid, rootfsPath(ctx.node.layout, vmid));
}

function withHwaddr(net0: string): string {
  if (/hwaddr=/.test(net0)) return net0;
  return net0.replace(/^(name=[^,]+)/, `$1,hwaddr=${randomMac()}`);
}

function validate(options: Record<string, string>): void {
  if (options.hostname !== undefined) checkDnsName("hostname", options.hostname);
  for (const key of ["memory", "swap", "cores"]) {
    if (options[key] !== undefined && !/^\d+$/.test(options[key]!))
      throw parameterError(key, `type check ('integer') failed - got '${options[key]}'`);
  }
  if (options.cores !== undefined && (Number(options.cores) < 1 || Number(options.cores) > 8192))
    throw parameterError("cores", "value must have a minimum value of 1");
  if (options.memory !== undefined && Number(options.memory) < 16)
    throw parameterError("memory", "value must have a minimum value of 16");
  if (options.tags !== undefined && !options.tags.split(/[;, ]/).every((t) => /^[a-z0-9_][a-z0-9_+.-]*$/i.test(t)))
    throw parameterError("tags", "invalid format - invalid tag");
}

/** Perl's `$!` for a failed system call: the errno's text ("Permission denied"). */
function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "EACCES"
    ? "Permission denied"
    : code === "EROFS"
      ? "Read-only file system"
      : err instanceof Error
        ? err.message
        : String(err);
}
