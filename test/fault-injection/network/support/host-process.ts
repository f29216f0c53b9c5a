import { spawn, type ChildProcess } from "node:child_process";

/**
 * A long-running process of a test (a probe's server, a database session) with its stdout
 * read line by line; it ends when its stdin is closed (`finish`) or killed (`kill`).
 */
export class HostProcess {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = "";
  private readonly exited: Promise<void>;

  constructor(argv: readonly string[], cwd?: string) {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], ...(cwd ? { cwd } : {}) });
    this.child = child;
    let partial = "";
    child.stdout!.on("data", (d: Buffer) => {
      const parts = (partial + d.toString()).split("\n");
      partial = parts.pop()!;
      for (const line of parts) {
        const waiter = this.waiting.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
      }
    });
    child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    // A process that ended takes no more input; what it said is in its lines and stderr.
    child.stdin!.on("error", () => undefined);
    this.exited = new Promise((resolve) => child.once("close", () => resolve()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The next line it prints, or a failure naming its stderr after `timeoutMs`. */
  nextLine(timeoutMs: number): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(deliver), 1);
        reject(
          new Error(
            `no line from ${this.child.spawnargs.join(" ")} within ${timeoutMs} ms; stderr: ${this.stderr.trim()}`,
          ),
        );
      }, timeoutMs);
      const deliver = (l: string) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiting.push(deliver);
    });
  }

  /** Writes one line to its stdin. */
  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Closes its stdin and waits for it to end; answers the lines it printed and nobody read. */
  async finish(): Promise<string[]> {
    this.child.stdin!.end();
    await this.exited;
    return this.lines.splice(0);
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}
