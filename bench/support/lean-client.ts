import http from "node:http";

/** A status and body as text. */
export interface LeanResponse {
  readonly status: number;
  readonly text: string;
}

/**
 * A keep-alive HTTP/1.1 client on node:http, for benchmarks that measure the server: `fetch`
 * cost the benchmark's own process about 1.4 ms of CPU per request, on the same two CPUs as
 * the API and MariaDB, where the baseline's client (mysql2) costs a fraction of that.
 */
export class LeanClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    sockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  post(path: string, body: unknown, idempotencyKey: string): Promise<LeanResponse> {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(`${this.baseUrl}${path}`, {
        method: "POST",
        agent: this.agent,
        headers: {
          authorization: `Bearer ${this.token}`,
          "content-type": "application/json",
          "content-length": payload.length,
          "idempotency-key": idempotencyKey,
        },
      });
      req.on("error", reject);
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      });
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
