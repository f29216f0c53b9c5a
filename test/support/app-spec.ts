import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
/** The spec the pipeline tests converge containers to: one of everything a spec can declare. */
export const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

export const MARKER_FEATURE = {
  name: "motd",
  guard: ["test", "-f", "/etc/motd.lockstep"],
  action: ["touch", "/etc/motd.lockstep"],
};
export const HEALTH = {
  name: "app",
  command: ["systemctl", "is-active", "app.service"],
  attempts: 3,
  interval_ms: 100,
};
const DOCKER_GUARD = ["sh", "-c", "command -v docker >/dev/null && systemctl is-active --quiet docker.service"];

export function appSpec(hostname = "app-1", config = "port=8080\n") {
  return {
    hostname,
    source: { template: TEMPLATE },
    security: { nesting: true, apparmor_profile: "unconfined" },
    features: ["docker", MARKER_FEATURE],
    files: [{ path: "/etc/app/app.conf", content: config }],
    services: [
      {
        unit: "app.service",
        content:
          "[Unit]\nDescription=app\n[Service]\nExecStart=/usr/bin/docker run app\n[Install]\nWantedBy=multi-user.target\n",
      },
    ],
    script: { content: "mkdir -p /srv/app\ntouch /srv/app/installed\n" },
    health_checks: [HEALTH],
  };
}

/**
 * What the API and the node's owner must allow for appSpec, in their policy files: its raw
 * AppArmor profile (raw lxc.* keys cannot be set through Proxmox's API at all, so the default
 * policy names none; hostile-input.test.ts asks for lxc-container-default), and CT 9000, the
 * clone source of the pipeline tests.
 */
export const APP_POLICY_FILE = fileURLToPath(new URL("./app-policy.json", import.meta.url));
export const APP_NODE_POLICY = JSON.parse(readFileSync(APP_POLICY_FILE, "utf8")) as Record<string, unknown>;

/** The exec argv of the spec that only look: they are no side effect. */
export const APP_READS: string[][] = [DOCKER_GUARD, MARKER_FEATURE.guard, HEALTH.command];
