import { newSection, type CtConfig, type Section } from "../node/ct-config.js";
import { normaliseProperty } from "./property-string.js";

// pve-container src/PVE/LXC/Config.pm $LXC_FASTPLUG_OPTIONS: moved from pending to the main
// section at once on a running CT (vmconfig_hotplug_pending).
const FASTPLUG = new Set([
  "description",
  "onboot",
  "startup",
  "protection",
  "hostname",
  "hookscript",
  "cores",
  "tags",
  "lock",
]);

/** Config.pm vmconfig_hotplug_pending: the keys a running CT takes without a restart. */
function hotplugs(key: string, conf: CtConfig): boolean {
  if (FASTPLUG.has(key) || /^(cpulimit|cpuunits|memory|swap|net\d+)$/.test(key)) return true;
  // A new mount point or device is hot-plugged; one over an existing key stays pending.
  return /^(mp|dev)\d+$/.test(key) && conf.main.values[key] === undefined;
}

/** The keys of a pending `delete:` list (AbstractConfig.pm parse_pending_delete; `!` = force). */
function pendingDeletes(pending: Section | undefined): string[] {
  const data = pending?.values.delete ?? "";
  return data
    .replace(/[,;]/g, " ")
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((k) => k.replace(/^!/, ""));
}

function setDeletes(conf: CtConfig, keys: string[]): void {
  const pending = (conf.pending ??= newSection());
  if (keys.length > 0) pending.values.delete = [...new Set(keys)].sort().join(",");
  else delete pending.values.delete;
}

function getValue(section: Section, key: string): string | undefined {
  return key === "description" ? section.description || undefined : section.values[key];
}

function setValue(section: Section, key: string, value: string | undefined): void {
  if (key === "description") section.description = value ?? "";
  else if (value === undefined) delete section.values[key];
  else section.values[key] = value;
}

/**
 * Config.pm update_pct_config: every change and deletion goes to `[pve:pending]` first, then
 * AbstractConfig.pm cleanup_pending drops what equals the current value, then a running CT
 * hot-applies what it can (vmconfig_hotplug_pending) and a stopped one applies all
 * (vmconfig_apply_pending).
 */
export function updateConfig(
  conf: CtConfig,
  changes: Record<string, string>,
  deletes: string[],
  reverts: string[],
  running: boolean,
): void {
  const pending = (conf.pending ??= newSection());
  // `--revert` first: the pending value and any pending deletion of the key are dropped.
  for (const key of reverts) setValue(pending, key, undefined);
  let deleting = pendingDeletes(pending).filter((k) => !reverts.includes(k));
  for (const key of deletes)
    if (getValue(conf.main, key) !== undefined || getValue(pending, key) !== undefined) deleting.push(key);
  for (const key of Object.keys(changes).sort()) {
    setValue(pending, key, changes[key]);
    deleting = deleting.filter((k) => k !== key);
  }
  setDeletes(conf, deleting);
  cleanupPending(conf);
  if (running) hotplugPending(conf);
  else applyPending(conf);
}

/** AbstractConfig.pm cleanup_pending: a pending value equal to the current one is no change. */
function cleanupPending(conf: CtConfig): void {
  const pending = conf.pending!;
  for (const key of [...Object.keys(pending.values), "description"]) {
    if (key === "delete") continue;
    const value = getValue(pending, key);
    if (value !== undefined && value === getValue(conf.main, key)) setValue(pending, key, undefined);
  }
  setDeletes(
    conf,
    pendingDeletes(pending).filter((k) => getValue(conf.main, k) !== undefined),
  );
}

/** Config.pm vmconfig_hotplug_pending, for a running CT. */
function hotplugPending(conf: CtConfig): void {
  const pending = conf.pending!;
  const deleting = pendingDeletes(pending);
  // Deleting fast-plug keys and swap, cpulimit, cpuunits, net* applies at once; others wait.
  const applied = deleting.filter((k) => FASTPLUG.has(k) || /^(swap|cpulimit|cpuunits|net\d+)$/.test(k));
  for (const key of applied) setValue(conf.main, key, undefined);
  setDeletes(
    conf,
    deleting.filter((k) => !applied.includes(k)),
  );
  for (const key of [...Object.keys(pending.values), ...(pending.description ? ["description"] : [])].sort()) {
    if (key === "delete" || !hotplugs(key, conf)) continue;
    setValue(conf.main, key, normaliseProperty(key, getValue(pending, key)!));
    setValue(pending, key, undefined);
  }
  dropEmpty(conf);
}

/** Config.pm vmconfig_apply_pending: everything pending lands (a stopped CT, or at start: PVE/LXC.pm vm_start). */
export function applyPending(conf: CtConfig): void {
  if (!conf.pending) return;
  for (const key of pendingDeletes(conf.pending)) setValue(conf.main, key, undefined);
  delete conf.pending.values.delete;
  for (const key of Object.keys(conf.pending.values))
    setValue(conf.main, key, normaliseProperty(key, conf.pending.values[key]!));
  if (conf.pending.description) conf.main.description = conf.pending.description;
  delete conf.pending;
}

function dropEmpty(conf: CtConfig): void {
  if (conf.pending && Object.keys(conf.pending.values).length === 0 && !conf.pending.description) delete conf.pending;
}

/**
 * AbstractConfig.pm load_current_config, as API2/LXC/Config.pm vm_config uses it: without
 * `current`, pending values replace the current ones and pending deletions hide them.
 */
export function viewConfig(conf: CtConfig, current: boolean): Section {
  const view: Section = { values: { ...conf.main.values }, description: conf.main.description, lxc: conf.main.lxc };
  if (current || !conf.pending) return view;
  for (const [key, value] of Object.entries(conf.pending.values)) if (key !== "delete") view.values[key] = value;
  if (conf.pending.description) view.description = conf.pending.description;
  for (const key of pendingDeletes(conf.pending)) setValue(view, key, undefined);
  return view;
}
