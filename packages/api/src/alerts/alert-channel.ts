import type { Logger } from "@lockstep/shared";

/** An alert about one node, identified across raises and resolves by its dedup key. */
export interface Alert {
  readonly dedupKey: string;
  readonly node: string;
  readonly kind: string;
  readonly summary: string;
}

/** Where alerts go: PagerDuty Events API v2, a plain webhook, or only the log. */
export interface AlertChannel {
  trigger(alert: Alert): Promise<void>;
  resolve(alert: Alert): Promise<void>;
}

async function postJson(url: string, body: unknown, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`alert endpoint answered ${res.status}`);
}

/** PagerDuty Events API v2: `trigger` and `resolve` with the alert's dedup key. */
export function pagerDutyChannel(routingKey: string, url: string, timeoutMs = 10_000): AlertChannel {
  const send = (action: "trigger" | "resolve", alert: Alert): Promise<void> =>
    postJson(
      url,
      {
        routing_key: routingKey,
        event_action: action,
        dedup_key: alert.dedupKey,
        ...(action === "trigger"
          ? {
              payload: {
                summary: alert.summary,
                source: alert.node,
                severity: "critical",
                component: "lockstep",
                group: alert.kind,
                custom_details: { node: alert.node, kind: alert.kind },
              },
            }
          : {}),
      },
      timeoutMs,
    );
  return { trigger: (a) => send("trigger", a), resolve: (a) => send("resolve", a) };
}

/** A plain webhook: `{ event: "trigger" | "resolve", dedup_key, node, kind, summary }`. */
export function webhookChannel(url: string, timeoutMs = 10_000): AlertChannel {
  const send = (event: string, a: Alert): Promise<void> =>
    postJson(url, { event, dedup_key: a.dedupKey, node: a.node, kind: a.kind, summary: a.summary }, timeoutMs);
  return { trigger: (a) => send("trigger", a), resolve: (a) => send("resolve", a) };
}

/** No channel configured: alerts are only logged. */
export function logOnlyChannel(logger: Logger): AlertChannel {
  return {
    trigger: async (a) =>
      logger.error("ALERT", { dedupKey: a.dedupKey, node: a.node, kind: a.kind, summary: a.summary }),
    resolve: async (a) => logger.info("alert resolved", { dedupKey: a.dedupKey, node: a.node, kind: a.kind }),
  };
}
