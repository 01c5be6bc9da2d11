import { Counter, Gauge } from "prom-client";
import type { MetricsRegistry } from "../platform/metrics.js";
import { EVENT_KINDS } from "./model.js";

/** Why an event stream ended. */
export const STREAM_END_REASONS = ["client", "slow_consumer", "shutdown"] as const;
export type StreamEndReason = (typeof STREAM_END_REASONS)[number];

/** The event log's and the event streams' metrics. */
export interface EventMetrics {
  events: Counter<"kind">;
  streamClients: Gauge;
  streamBufferedBytes: Gauge;
  streamEnded: Counter<"reason">;
  streamEventsSent: Counter;
}

/** Registers the events metrics, every series present from the start. */
export function createEventMetrics(registry: MetricsRegistry): EventMetrics {
  const registers = [registry];
  const metrics: EventMetrics = {
    events: new Counter({
      name: "opsguard_events",
      help: "Events recorded (and committed), by kind: what GET /v1/events and the webhooks carry.",
      labelNames: ["kind"],
      registers,
    }),
    streamClients: new Gauge({
      name: "opsguard_event_stream_clients",
      help: "Clients connected to GET /v1/events.",
      registers,
    }),
    streamBufferedBytes: new Gauge({
      name: "opsguard_event_stream_buffered_bytes",
      help: "Bytes of events held for event-stream clients that have not read them yet, all clients together.",
      registers,
    }),
    streamEnded: new Counter({
      name: "opsguard_event_stream_disconnects",
      help: "Event streams ended, by reason: the client left, it fell too far behind (slow_consumer), or opsguard stopped.",
      labelNames: ["reason"],
      registers,
    }),
    streamEventsSent: new Counter({
      name: "opsguard_event_stream_events_sent",
      help: "Events handed to event-stream clients, every client counted.",
      registers,
    }),
  };
  for (const kind of EVENT_KINDS) metrics.events.inc({ kind }, 0);
  for (const reason of STREAM_END_REASONS) metrics.streamEnded.inc({ reason }, 0);
  return metrics;
}
