import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { buildDashboard } from "./frame.js";
import { UNITS, statPanel, tablePanel, thresholds, timeSeries } from "./panels.js";
import { quantile, rate, series, sumBy } from "./promql.js";
import { prom } from "./queries.js";
import { storageRow } from "./storage.js";

/** opsguard-runtime: the Node.js process and the HTTP server. */
export function runtimeDashboard(): dashboard.Dashboard {
  return buildDashboard({
    uid: "opsguard-runtime",
    title: "opsguard / Runtime",
    description:
      "The Node.js process (event loop lag, heap and RSS, GC, CPU, handles), its storage (database, WAL, free space with a forecast) and the HTTP server (rate, errors and latency by route).",
    variables: ["instance"],
    rows: [
      {
        title: "Process",
        panels: [
          statPanel(
            {
              title: "Uptime",
              description: "Time since the opsguard process started.",
              unit: UNITS.seconds,
            },
            [prom(`time() - max(${series("process_start_time_seconds")})`)],
            { sparkline: false, thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "CPU",
              description: "CPU time used per second (1 = one core busy).",
              unit: UNITS.ratio,
            },
            [prom(sumBy([], rate("process_cpu_seconds_total")))],
            { thresholds: thresholds(["green", null], ["orange", 0.7], ["red", 0.9]) },
          ),
          statPanel(
            { title: "Resident memory", description: "Resident set size of the process.", unit: UNITS.bytes },
            [prom(`max(${series("process_resident_memory_bytes")})`)],
            { thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Event loop lag p99",
              description: "99th percentile of event loop delay over the collector's window.",
              unit: UNITS.seconds,
            },
            [prom(`max(${series("nodejs_eventloop_lag_p99_seconds")})`)],
            { thresholds: thresholds(["green", null], ["orange", 0.05], ["red", 0.2]) },
          ),
          statPanel(
            {
              title: "Open file descriptors",
              description: "File descriptors in use over the process limit.",
              unit: UNITS.ratio,
            },
            [prom(`max(${series("process_open_fds")}) / max(${series("process_max_fds")})`)],
            { thresholds: thresholds(["green", null], ["orange", 0.7], ["red", 0.9]) },
          ),
          tablePanel(
            {
              title: "Build",
              description: "Version of opsguard and of Node.js (`opsguard_build_info`).",
              unit: UNITS.none,
              width: 4,
              height: 4,
            },
            [prom(series("opsguard_build_info"), undefined, { instant: true, table: true })],
            { hide: ["__name__", "job", "instance", "Value"] },
          ),
          timeSeries(
            {
              title: "Event loop lag",
              description:
                "Event loop delay: median, 99th percentile and maximum over the collector's window.",
              unit: UNITS.seconds,
              width: 8,
            },
            [
              prom(`max(${series("nodejs_eventloop_lag_p50_seconds")})`, "p50"),
              prom(`max(${series("nodejs_eventloop_lag_p99_seconds")})`, "p99"),
              prom(`max(${series("nodejs_eventloop_lag_max_seconds")})`, "max"),
            ],
          ),
          timeSeries(
            {
              title: "Memory",
              description:
                "Resident set size, V8 heap used and total, and memory held outside the heap (buffers).",
              unit: UNITS.bytes,
              width: 8,
            },
            [
              prom(`max(${series("process_resident_memory_bytes")})`, "rss"),
              prom(`max(${series("nodejs_heap_size_total_bytes")})`, "heap total"),
              prom(`max(${series("nodejs_heap_size_used_bytes")})`, "heap used"),
              prom(`max(${series("nodejs_external_memory_bytes")})`, "external"),
            ],
          ),
          timeSeries(
            {
              title: "CPU",
              description: "CPU time used per second, user and system (1 = one core busy).",
              unit: UNITS.ratio,
              width: 8,
            },
            [
              prom(sumBy([], rate("process_cpu_user_seconds_total")), "user"),
              prom(sumBy([], rate("process_cpu_system_seconds_total")), "system"),
            ],
            { stack: true },
          ),
          timeSeries(
            {
              title: "GC time",
              description:
                "Share of time spent in garbage collection, by GC kind (major, minor, incremental, weakcb).",
              unit: UNITS.ratio,
              width: 8,
            },
            [prom(sumBy(["kind"], rate("nodejs_gc_duration_seconds_sum")), "{{kind}}")],
            { stack: true },
          ),
          timeSeries(
            {
              title: "GC runs",
              description: "Garbage collections per second, by kind.",
              unit: UNITS.countsPerSecond,
              width: 8,
            },
            [prom(sumBy(["kind"], rate("nodejs_gc_duration_seconds_count")), "{{kind}}")],
          ),
          timeSeries(
            {
              title: "Heap spaces used",
              description: "V8 heap used, by space.",
              unit: UNITS.bytes,
              width: 8,
            },
            [prom(sumBy(["space"], series("nodejs_heap_space_size_used_bytes")), "{{space}}")],
            { stack: true },
          ),
          timeSeries(
            {
              title: "Active handles and requests",
              description:
                "libuv handles (sockets, timers, …) and requests alive, by type: a steady climb is a leak.",
              unit: UNITS.count,
            },
            [
              prom(sumBy(["type"], series("nodejs_active_handles")), "handle {{type}}"),
              prom(sumBy(["type"], series("nodejs_active_requests")), "request {{type}}"),
            ],
          ),
          timeSeries(
            {
              title: "Telemetry dropped",
              description:
                "Log lines and spans dropped per second because Loki or the OTLP collector was unreachable or too slow.",
              unit: UNITS.countsPerSecond,
            },
            [prom(sumBy(["signal"], rate("opsguard_telemetry_dropped_total")), "{{signal}}")],
          ),
        ],
      },
      storageRow(),
      {
        title: "HTTP server",
        panels: [
          timeSeries(
            {
              title: "Requests by route",
              description:
                "Requests per second by method and route template (`unmatched` for unknown paths), including /metrics and probes.",
              unit: UNITS.requestsPerSecond,
              width: 8,
            },
            [prom(sumBy(["method", "route"], rate("opsguard_http_requests_total")), "{{method}} {{route}}")],
            { stack: true },
          ),
          timeSeries(
            {
              title: "Responses by status",
              description: "Responses per second by status code.",
              unit: UNITS.requestsPerSecond,
              width: 8,
            },
            [prom(sumBy(["status"], rate("opsguard_http_requests_total")), "{{status}}")],
            { stack: true },
          ),
          timeSeries(
            {
              title: "Errors by route",
              description: "4xx and 5xx responses per second, by route and status.",
              unit: UNITS.requestsPerSecond,
              width: 8,
            },
            [
              prom(
                sumBy(["route", "status"], rate("opsguard_http_requests_total", 'status=~"[45].."')),
                "{{route}} {{status}}",
              ),
            ],
            { bars: true },
          ),
          timeSeries(
            {
              title: "Latency p99 by route",
              description: "99th percentile of request duration by method and route template.",
              unit: UNITS.seconds,
            },
            [
              prom(
                quantile(0.99, "opsguard_http_request_duration_seconds", ["method", "route"]),
                "{{method}} {{route}}",
              ),
            ],
          ),
          timeSeries(
            {
              title: "Mean latency by route",
              description: "Average request duration by method and route template.",
              unit: UNITS.seconds,
            },
            [
              prom(
                `${sumBy(["method", "route"], rate("opsguard_http_request_duration_seconds_sum"))} / ${sumBy(["method", "route"], rate("opsguard_http_request_duration_seconds_count"))}`,
                "{{method}} {{route}}",
              ),
            ],
          ),
        ],
      },
    ],
  });
}
