/**
 * The environment every command the agent runs inside a container gets, and nothing else.
 *
 * `pct exec` keeps pct's environment by default (`--keep-env` defaults to 1 on PVE 8 and 9:
 * pve-container src/PVE/CLI/pct.pm, exec) with PATH reset to /sbin:/bin:/usr/sbin:/usr/bin
 * (pve-common src/PVE/CLIHandler.pm): the agent's own variables (its TLS key path,
 * CREDENTIALS_DIRECTORY, NODE_ENV) would reach every guest, and /usr/local would be missing.
 * So the agent passes `--keep-env 0` (lxc-attach --clear-env: LXC's clean environment, lxc
 * src/lxc/attach.c lxc_attach_set_environment) and names every variable itself through the
 * guest's `env -i`, because pct exec has no way to set one (no --set-var passthrough).
 */
export const GUEST_ENVIRONMENT: Readonly<Record<string, string>> = {
  // LXC's own default for a cleared environment, which is also Debian's root PATH:
  // programs installed under /usr/local are found.
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  // lxc-attach runs as root in the container; git, pip, npm and the like need a HOME.
  HOME: "/root",
  // UTF-8 without translated messages; C.UTF-8 is built into glibc >= 2.35 and shipped by
  // Debian and Ubuntu. LANG (not LC_ALL) so a guest without it falls back to C quietly.
  LANG: "C.UTF-8",
  // No terminal is attached: no colours, pagers or cursor control. Overrides the TERM=linux
  // that Proxmox puts in the container's LXC config (PVE/LXC.pm update_lxc_config).
  TERM: "dumb",
  // What LXC sets for every attached process; scripts test it to know they run in a container.
  container: "lxc",
};

/**
 * The `pct exec` arguments that run `argv` in the container with exactly GUEST_ENVIRONMENT:
 * `pct exec <vmid> --keep-env 0 -- env -i -- K=V... argv...`. `env` (coreutils or busybox)
 * exits 127 when the command is missing and 126 when it cannot run, as lxc-attach does.
 * `argv[0]` must not contain `=`: env would read it as one more variable (callers refuse it).
 */
export function guestExecArgs(vmid: number, argv: readonly string[]): string[] {
  const assignments = Object.entries(GUEST_ENVIRONMENT).map(([key, value]) => `${key}=${value}`);
  return ["exec", String(vmid), "--keep-env", "0", "--", "env", "-i", "--", ...assignments, ...argv];
}
