import { Counter, Gauge, Histogram } from "prom-client";
import type { MetricsRegistry } from "../../platform/metrics.js";

/** How one delivery attempt (one POST) ended. */
export const DELIVERY_OUTCOMES = ["delivered", "failed"] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** The outgoing webhooks' metrics, each labelled by the endpoint's configured name. */
export interface WebhookMetrics {
  deliveries: Counter<"endpoint" | "outcome">;
  eventsDelivered: Counter<"endpoint">;
  eventsExpired: Counter<"endpoint">;
  pendingEvents: Gauge<"endpoint">;
  consecutiveFailures: Gauge<"endpoint">;
  lastSuccess: Gauge<"endpoint">;
  duration: Histogram<"endpoint">;
}

/**
 * Registers the webhook metrics, every series of every configured endpoint present at 0 from the
 * start, so `increase()` counts the first delivery and an alert on failures has a series to read.
 */
export function createWebhookMetrics(
  registry: MetricsRegistry,
  endpointNames: readonly string[],
): WebhookMetrics {
  const registers = [registry];
  const labelNames = ["endpoint"] as const;
  const metrics: WebhookMetrics = {
    deliveries: new Counter({
      name: "opsguard_webhook_deliveries",
      help: "Webhook requests (one per attempt, a batch of events each), by endpoint and outcome: delivered (a 2xx answer) or failed (any other answer, a network error or the deadline).",
      labelNames: ["endpoint", "outcome"],
      registers,
    }),
    eventsDelivered: new Counter({
      name: "opsguard_webhook_events_delivered",
      help: "Events acknowledged by a webhook endpoint (a re-sent batch counts again).",
      labelNames,
      registers,
    }),
    eventsExpired: new Counter({
      name: "opsguard_webhook_events_expired",
      help: "Events pruned by events.retentionHours before a webhook endpoint acknowledged them: that endpoint never gets them.",
      labelNames,
      registers,
    }),
    pendingEvents: new Gauge({
      name: "opsguard_webhook_pending_events",
      help: "Committed events a webhook endpoint has not acknowledged yet, whether or not its filters select them.",
      labelNames,
      registers,
    }),
    consecutiveFailures: new Gauge({
      name: "opsguard_webhook_consecutive_failures",
      help: "Failed attempts in a row of a webhook endpoint; 0 after a success.",
      labelNames,
      registers,
    }),
    lastSuccess: new Gauge({
      name: "opsguard_webhook_last_success_timestamp_seconds",
      help: "When a webhook endpoint last acknowledged a delivery, in seconds since the epoch; 0 when it never did in this process.",
      labelNames,
      registers,
    }),
    duration: new Histogram({
      name: "opsguard_webhook_delivery_duration_seconds",
      help: "Time of one webhook attempt, until the answer's status or the failure, by endpoint.",
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
  for (const endpoint of endpointNames) {
    for (const outcome of DELIVERY_OUTCOMES) metrics.deliveries.inc({ endpoint, outcome }, 0);
    metrics.eventsDelivered.inc({ endpoint }, 0);
    metrics.eventsExpired.inc({ endpoint }, 0);
    metrics.pendingEvents.set({ endpoint }, 0);
    metrics.consecutiveFailures.set({ endpoint }, 0);
    metrics.lastSuccess.set({ endpoint }, 0);
    metrics.duration.zero({ endpoint });
  }
  return metrics;
}
