import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { SimLayout } from "../node/sim-layout.js";
import type { ExecIo } from "./exec-io.js";
import { systemctl } from "./systemd.js";

/** What a simulated program does when run: its output and exit status. */
export interface ProgramBehaviour {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exit: number;
}

/** The marker line that makes a file in a container a simulated program. */
export const PROGRAM_MARKER = "# lockstep-sim: ";

interface Package {
  readonly programs: Record<string, ProgramBehaviour>;
  readonly unit?: { name: string; content: string };
}

// A small catalog, enough for feature examples: docker and nginx install and start a
// service; nvidia-smi installs but fails, because a simulated node has no GPU.
const CATALOG: Record<string, Package> = {
  "docker.io": {
    programs: { "/usr/bin/docker": { stdout: "Docker version 27.1.1, build 6312585\n", exit: 0 } },
    unit: {
      name: "docker.service",
      content:
        "[Unit]\nDescription=Docker Application Container Engine\n[Service]\nExecStart=/usr/bin/dockerd\n[Install]\nWantedBy=multi-user.target\n",
    },
  },
  nginx: {
    programs: { "/usr/sbin/nginx": { stdout: "nginx version: nginx/1.22.1\n", exit: 0 } },
    unit: {
      name: "nginx.service",
      content:
        "[Unit]\nDescription=nginx\n[Service]\nExecStart=/usr/sbin/nginx\n[Install]\nWantedBy=multi-user.target\n",
    },
  },
  curl: { programs: { "/usr/bin/curl": { stdout: "curl 7.88.1\n", exit: 0 } } },
  "nvidia-utils-550": {
    programs: {
      "/usr/bin/nvidia-smi": {
        stderr:
          "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n",
        exit: 9,
      },
    },
  },
};

/** `apt-get install -y <packages>`: idempotent, as dpkg is for an installed package. */
export function aptGet(layout: SimLayout, args: string[], io: ExecIo): number {
  const [verb, ...rest] = args.filter((a) => !a.startsWith("-"));
  if (verb === "update") return (io.out("Reading package lists... Done\n"), 0);
  if (verb !== "install") return (io.err(`E: Invalid operation ${verb ?? ""}\n`), 100);
  const unknown = rest.find((name) => !CATALOG[name]);
  if (unknown) return (io.err(`E: Unable to locate package ${unknown}\n`), 100);
  io.out("Reading package lists... Done\nBuilding dependency tree... Done\n");
  for (const name of rest) install(layout, CATALOG[name]!, io);
  return 0;
}

function install(layout: SimLayout, pkg: Package, io: ExecIo): void {
  for (const [file, behaviour] of Object.entries(pkg.programs)) {
    const host = io.resolve(file);
    mkdirSync(path.dirname(host), { recursive: true });
    writeFileSync(host, `#!/bin/sh\n${PROGRAM_MARKER}${JSON.stringify(behaviour)}\n`, { mode: 0o755 });
  }
  if (!pkg.unit) return;
  const unitFile = io.resolve(`/lib/systemd/system/${pkg.unit.name}`);
  const fresh = !existsSync(unitFile);
  mkdirSync(path.dirname(unitFile), { recursive: true });
  writeFileSync(unitFile, pkg.unit.content);
  // Debian's maintainer scripts reload systemd, enable and start a packaged service.
  if (fresh) for (const step of [["daemon-reload"], ["enable", "--now", pkg.unit.name]]) systemctl(layout, step, io);
}
