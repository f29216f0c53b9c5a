import test from "ava";
import { execInContainer } from "../../src/exec/exec-in-container.js";
import { GUEST_ENVIRONMENT } from "../../src/exec/guest-environment.js";
import { fakeNode } from "../containers/fake-node.js";

test("exec clears pct's environment (--keep-env defaults to 1: pve-container src/PVE/CLI/pct.pm exec)", async (t) => {
  const node = fakeNode(t, () => ({}));
  await execInContainer(node.ctx, 101, ["hostname"]);
  t.deepEqual(node.calls[0]!.slice(0, 5), ["exec", "101", "--keep-env", "0", "--"]);
});

test("exec gives the command exactly the guest environment, through env -i", async (t) => {
  const node = fakeNode(t, () => ({}));
  await execInContainer(node.ctx, 101, ["hostname", "-f"]);
  const assignments = Object.entries(GUEST_ENVIRONMENT).map(([k, v]) => `${k}=${v}`);
  t.deepEqual(node.calls[0]!.slice(5), ["env", "-i", "--", ...assignments, "hostname", "-f"]);
});

test("the guest PATH includes /usr/local (what lxc-attach --clear-env sets: lxc src/lxc/attach.c lxc_attach_set_environment)", (t) => {
  t.true(GUEST_ENVIRONMENT.PATH!.split(":").includes("/usr/local/bin"));
  t.true(GUEST_ENVIRONMENT.PATH!.split(":").includes("/usr/local/sbin"));
});

test("nothing of the agent's environment is in the guest environment", (t) => {
  t.deepEqual(Object.keys(GUEST_ENVIRONMENT).sort(), ["HOME", "LANG", "PATH", "TERM", "container"]);
});

test("a command whose first word has '=' is refused: env would read it as a variable", async (t) => {
  const node = fakeNode(t, () => ({}));
  const err = await t.throwsAsync(execInContainer(node.ctx, 101, ["A=b", "hostname"]));
  t.is((err as { code?: string }).code, "INVALID_ARGUMENT");
  t.deepEqual(node.calls, []);
});

test("the command's own exit status comes back (127: env's and lxc-attach's missing command)", async (t) => {
  const node = fakeNode(t, () => ({ exitCode: 127, stderr: "env: 'mytool': No such file or directory\n" }));
  t.is((await execInContainer(node.ctx, 101, ["mytool"])).exitCode, 127);
});

test("pct exec that could not start for pmxcfs is an error of the node, never the command's exit status (RESTEnvironment.pm setup_default_cli_env)", async (t) => {
  const node = fakeNode(t, () => ({
    exitCode: 111,
    stderr: "ipcc_send_rec[1] failed: Connection refused\nUnable to load access control list: Connection refused\n",
  }));
  await t.throwsAsync(execInContainer(node.ctx, 101, ["systemctl", "is-active", "app.service"]), {
    code: "HYPERVISOR_UNRESPONSIVE",
  } as never);
});

test("pct exec that found no config is NOT_FOUND, not the command's exit status", async (t) => {
  const node = fakeNode(t, () => ({
    exitCode: 255,
    stderr: "Configuration file 'nodes/pve1/lxc/101.conf' does not exist\n",
  }));
  await t.throwsAsync(execInContainer(node.ctx, 101, ["systemctl", "is-active", "app.service"]), {
    code: "NOT_FOUND",
  } as never);
});

test("a command's own failure, whatever it prints, comes back as its exit status", async (t) => {
  const node = fakeNode(t, () => ({ exitCode: 3, stderr: "inactive\n" }));
  t.like(await execInContainer(node.ctx, 101, ["systemctl", "is-active", "app.service"]), {
    exitCode: 3,
    stderr: "inactive\n",
  });
});
