import type { ApiUnderTest } from "../support/cluster.js";
import type { PlannedRequest } from "./scenario-plan.js";

/** The answer a request finally got: a status the client does not retry. */
export interface Answer {
  readonly status: number;
  readonly code?: string;
  readonly id?: string;
  readonly operationId?: string;
}

/** What the client saw of one planned request. */
export interface LedgerEntry {
  readonly request: PlannedRequest;
  /** Transport failures and retryable statuses met on the way. */
  retries: number;
  answer: Answer | null;
  /** Why it was not sent (its target's create was refused). */
  skipped?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A careful client of the API, as a hosting panel should be: every request carries its
 * Idempotency-Key and is sent again, to whichever API process is up, until it gets an answer
 * that is not a transport failure, a 5xx, a 429 or an in-flight 409.
 */
export class WorkloadClient {
  readonly ledger = new Map<number, LedgerEntry>();
  private turn = 0;

  constructor(
    private readonly apis: () => ApiUnderTest[],
    private readonly deadline: () => number,
  ) {}

  async run(request: PlannedRequest): Promise<void> {
    const entry: LedgerEntry = { request, retries: 0, answer: null };
    this.ledger.set(request.n, entry);
    const original = request.kind === "retry" ? await this.answered(request.of) : request;
    if (!original) return void (entry.skipped = "the request it repeats was never answered");
    const path = await this.pathOf(original);
    if (path === null) return void (entry.skipped = "its container's create was not accepted");
    entry.answer = await this.send(
      entry,
      original.kind === "delete" ? "DELETE" : "POST",
      path,
      original.key,
      "body" in original ? JSON.stringify(original.body) : undefined,
    );
  }

  /** The path of a request; for one on a container, once that container's create has its answer. */
  private async pathOf(request: Exclude<PlannedRequest, { kind: "retry" }>): Promise<string | null> {
    if (request.kind === "create") return "/v1/containers";
    const create = await this.answered(request.target);
    const id = create ? this.ledger.get(create.n)?.answer?.id : undefined;
    if (!id) return null;
    return request.kind === "apply" ? `/v1/containers/${id}/apply` : `/v1/containers/${id}`;
  }

  /** Waits for request `n`'s answer; the request, or null when it was skipped or never answered. */
  private async answered(n: number): Promise<Exclude<PlannedRequest, { kind: "retry" }> | null> {
    while (Date.now() < this.deadline()) {
      const entry = this.ledger.get(n);
      if (entry?.skipped) return null;
      if (entry?.answer && entry.request.kind !== "retry") return entry.request;
      await sleep(100);
    }
    return null;
  }

  private async send(
    entry: LedgerEntry,
    method: string,
    path: string,
    key: string,
    body?: string,
  ): Promise<Answer | null> {
    while (Date.now() < this.deadline()) {
      const api = this.nextApi();
      if (api) {
        const answer = await this.once(api, method, path, key, body);
        if (answer && !retryable(answer)) return answer;
      }
      entry.retries++;
      await sleep(200 + Math.random() * 300);
    }
    return null;
  }

  private async once(
    api: ApiUnderTest,
    method: string,
    path: string,
    key: string,
    body?: string,
  ): Promise<Answer | null> {
    try {
      const res = await api.fetch(path, {
        method,
        body,
        headers: { "content-type": "application/json", "idempotency-key": key },
        signal: AbortSignal.timeout(20_000),
      });
      const json = (await res.json().catch(() => ({}))) as { id?: string; code?: string; operation?: { id?: string } };
      return { status: res.status, code: json.code, id: json.id, operationId: json.operation?.id };
    } catch {
      return null;
    }
  }

  private nextApi(): ApiUnderTest | undefined {
    const live = this.apis();
    return live[this.turn++ % Math.max(1, live.length)];
  }
}

function retryable(answer: Answer): boolean {
  return answer.status >= 500 || answer.status === 429 || (answer.status === 409 && answer.code === "UNAVAILABLE");
}
