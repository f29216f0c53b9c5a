import { fileURLToPath } from "node:url";
import type { VirtualNetwork } from "../virtual-network.js";
import { HostProcess } from "./host-process.js";

const NET_PROBE = fileURLToPath(new URL("./net-probe.ts", import.meta.url));
const MYSQL_PROBE = fileURLToPath(new URL("./mysql-probe.ts", import.meta.url));
/** The repository, whose node_modules hold tsx and mysql2 for the probes. */
const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
// A probe is a Node process started through tsx: on a loaded machine that alone takes seconds.
const START_MS = 30_000;

export interface ConnectResult {
  readonly ok: boolean;
  readonly ms: number;
  readonly code: string | null;
}

/** The probes of the tests, each run in a host of one network. */
export class Probes {
  constructor(private readonly network: VirtualNetwork) {}

  /** A TCP echo server on the host's address, listening once this resolves. */
  async tcpServer(host: string, port: number): Promise<HostProcess> {
    return this.listening(
      new HostProcess(this.node(host, NET_PROBE, "serve-tcp", this.network.address(host), String(port)), REPO),
    );
  }

  /** A UDP counter on the host's address; `finish` then answers `{"received":n}`. */
  async udpCounter(host: string, port: number): Promise<HostProcess> {
    return this.listening(
      new HostProcess(this.node(host, NET_PROBE, "serve-udp", this.network.address(host), String(port)), REPO),
    );
  }

  /** One TCP connect from a host to another's port, given up after `giveUpMs`. */
  async connect(from: string, to: string, port: number, giveUpMs: number): Promise<ConnectResult> {
    return JSON.parse(
      await this.run(from, "connect", this.network.address(to), String(port), String(giveUpMs)),
    ) as ConnectResult;
  }

  /** Round trips of one byte from a host to another's echo server, in ms. */
  async roundTrips(from: string, to: string, port: number, count: number): Promise<number[]> {
    return (
      JSON.parse(await this.run(from, "rtt", this.network.address(to), String(port), String(count))) as {
        samples: number[];
      }
    ).samples;
  }

  /** Sends `count` datagrams from a host to another's port. */
  async sendDatagrams(from: string, to: string, port: number, count: number): Promise<void> {
    await this.run(from, "send-udp", this.network.address(to), String(port), String(count));
  }

  /** A mysql2 connection from a host; its first line reports the connect. */
  mysqlSession(host: string, url: string, connectTimeoutMs: number): HostProcess {
    return new HostProcess(this.node(host, MYSQL_PROBE, url, String(connectTimeoutMs)), REPO);
  }

  private run(host: string, ...args: string[]): Promise<string> {
    // The test's working directory is the repository (ava's), where --import finds tsx.
    return this.network.run(host, [process.execPath, "--import", "tsx", NET_PROBE, ...args], {
      timeoutMs: START_MS + 60_000,
    });
  }

  private async listening(server: HostProcess): Promise<HostProcess> {
    const line = await server.nextLine(START_MS);
    if (line !== "listening") throw new Error(`the probe server said '${line}', not 'listening'`);
    return server;
  }

  private node(host: string, program: string, ...args: string[]): string[] {
    return this.network.argvIn(host, [process.execPath, "--import", "tsx", program, ...args]);
  }
}
