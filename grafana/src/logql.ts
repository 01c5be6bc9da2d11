import { ALERT_RECEIVER_SERVICE } from "../../src/alerts/receiver.js";

/**
 * LogQL building blocks. opsguard's log streams carry exactly three labels (`service`, `env`,
 * `level`); everything else (`event`, `trace_id`, `operationId`, …) is in the JSON line.
 */

/** Window of log metric queries: Grafana sizes `$__auto` to the step, like a rate interval. */
export const AUTO_INTERVAL = "$__auto";

/** `{service="opsguard", env=~"$env", …matchers}`. */
export function stream(...matchers: string[]): string {
  return `{${['service="opsguard"', 'env=~"$env"', ...matchers].join(", ")}}`;
}

/**
 * Lines whose JSON `event` field is `event`: a cheap line filter first, then the parsed field, so
 * a message that merely mentions the name does not count.
 */
export function eventLines(event: string, ...matchers: string[]): string {
  return `${stream(...matchers)} |= "${event}" | json | event="${event}"`;
}

/** Every alert Alertmanager notified, firing or resolved, as the stack's receiver logged it. */
export function alertNotificationLines(): string {
  return `{service="${ALERT_RECEIVER_SERVICE}", env=~"$env"} |= "alert.notification" | json | event="alert.notification"`;
}
