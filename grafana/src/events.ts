import type { Row } from "./frame.js";
import { UNITS, timeSeries } from "./panels.js";
import { quantile, rate, series, sumBy } from "./promql.js";
import { prom } from "./queries.js";

/**
 * The Operations dashboard's row about who hears of each change: the events recorded, the clients
 * of GET /v1/events, and the outgoing webhooks.
 */
export function eventsRow(): Row {
  return {
    title: "Events: stream and webhooks",
    panels: [
      timeSeries(
        {
          title: "Events by kind",
          description:
            "Events recorded per second, by kind (operation.opened, operation.closed, trading.state_changed, …): what GET /v1/events and the webhooks carry. All strategies.",
          unit: UNITS.countsPerSecond,
        },
        [prom(sumBy(["kind"], rate("opsguard_events_total")), "{{kind}}")],
        { stack: true },
      ),
      timeSeries(
        {
          title: "Event stream clients",
          description:
            "Clients connected to GET /v1/events (at most events.maxClients), and the bytes held for clients that have not read them yet (each at most events.maxBufferedBytes).",
          unit: UNITS.count,
        },
        [
          prom(sumBy([], series("opsguard_event_stream_clients")), "clients"),
          prom(sumBy([], series("opsguard_event_stream_buffered_bytes")), "buffered bytes"),
        ],
      ),
      timeSeries(
        {
          title: "Event streams ended",
          description:
            "Event streams ended per second, by reason: the client left, it could not keep up (slow_consumer: cut off, it reconnects with Last-Event-ID and replays), or opsguard stopped.",
          unit: UNITS.countsPerSecond,
        },
        [prom(sumBy(["reason"], rate("opsguard_event_stream_disconnects_total")), "{{reason}}")],
        { bars: true },
      ),
      timeSeries(
        {
          title: "Webhook deliveries",
          description:
            "POSTs to each webhook endpoint per second, by outcome (delivered: a 2xx; failed: anything else, retried with backoff). Alert OpsguardWebhookEndpointFailing when an endpoint keeps failing.",
          unit: UNITS.requestsPerSecond,
        },
        [
          prom(
            sumBy(["endpoint", "outcome"], rate("opsguard_webhook_deliveries_total")),
            "{{endpoint}} {{outcome}}",
          ),
        ],
        { bars: true },
      ),
      timeSeries(
        {
          title: "Webhook backlog",
          description:
            "Events each endpoint has not acknowledged yet (kept in the database until it does), and its failed attempts in a row.",
          unit: UNITS.count,
        },
        [
          prom(`max by (endpoint) (${series("opsguard_webhook_pending_events")})`, "{{endpoint}} pending"),
          prom(
            `max by (endpoint) (${series("opsguard_webhook_consecutive_failures")})`,
            "{{endpoint}} failures in a row",
          ),
        ],
      ),
      timeSeries(
        {
          title: "Webhook delivery latency",
          description: "99th percentile of the time each endpoint took to answer a delivery.",
          unit: UNITS.seconds,
        },
        [
          prom(
            quantile(0.99, "opsguard_webhook_delivery_duration_seconds", ["endpoint"]),
            "p99 {{endpoint}}",
          ),
        ],
      ),
    ],
  };
}
