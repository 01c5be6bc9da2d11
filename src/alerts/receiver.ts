import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { Logger } from "../platform/logger.js";

/** The Loki `service` label and log field of the receiver's lines. */
export const ALERT_RECEIVER_SERVICE = "opsguard-alert-receiver";

/** The largest notification read; Alertmanager sends a few kilobytes per group. */
export const MAX_NOTIFICATION_BYTES = 1_048_576;

/** One alert of a notification, as Alertmanager's webhook (version 4) sends it. */
const WebhookAlert = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  fingerprint: z.string().optional(),
  generatorURL: z.string().optional(),
});

/** Alertmanager's webhook payload (version 4): a group of alerts for one receiver. */
export const WebhookNotification = z.object({
  version: z.string().optional(),
  receiver: z.string(),
  status: z.enum(["firing", "resolved"]),
  groupKey: z.string().optional(),
  alerts: z.array(WebhookAlert),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  externalURL: z.string().optional(),
});
export type WebhookNotification = z.infer<typeof WebhookNotification>;

/**
 * The stack's own receiver of Alertmanager's webhooks: every alert of every notification, firing
 * or resolved, becomes one log line (`alert.notification`, a warning when firing), which reaches
 * Loki like the service's own lines and shows on the Overview and Logs dashboards. So a stack
 * started without any account somewhere still tells someone, and what Alertmanager sent can be
 * read back later. `POST /<receiver>` (the name Alertmanager routed to), `GET /healthz`.
 */
export function alertReceiverRoutes(logger: Logger): Hono {
  const http = new Hono();
  http.get("/healthz", (c) => c.json({ status: "ok" }));
  http.post(
    "/:path",
    bodyLimit({
      maxSize: MAX_NOTIFICATION_BYTES,
      onError: (c) => c.json({ error: `a notification is at most ${MAX_NOTIFICATION_BYTES} bytes` }, 413),
    }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return c.json({ error: "the body is not JSON" }, 400);
      }
      const parsed = WebhookNotification.safeParse(body);
      if (!parsed.success) {
        const problems = parsed.error.issues.map(
          (issue) => `${issue.path.join(".") || "body"}: ${issue.message}`,
        );
        return c.json({ error: "not an Alertmanager webhook notification", problems }, 400);
      }
      const notification = parsed.data;
      for (const alert of notification.alerts) logAlert(logger, c.req.param("path"), notification, alert);
      if (notification.truncatedAlerts > 0) {
        logger.warn(
          `${notification.truncatedAlerts} more alerts of this notification were left out by Alertmanager`,
          {
            event: "alert.notification_truncated",
            receiver: notification.receiver,
            truncated: notification.truncatedAlerts,
          },
        );
      }
      return c.json({ received: notification.alerts.length });
    },
  );
  return http;
}

function logAlert(
  logger: Logger,
  path: string,
  notification: WebhookNotification,
  alert: z.infer<typeof WebhookAlert>,
): void {
  const { labels, annotations } = alert;
  const name = labels.alertname ?? "(no alertname)";
  const fields = {
    event: "alert.notification",
    receiver: notification.receiver,
    path,
    status: alert.status,
    alertname: name,
    severity: labels.severity,
    instance: labels.instance,
    summary: annotations.summary,
    description: annotations.description,
    runbookUrl: annotations.runbook_url,
    startsAt: alert.startsAt,
    endsAt: alert.status === "resolved" ? alert.endsAt : undefined,
    fingerprint: alert.fingerprint,
    labels,
  };
  const where = labels.instance ? ` on ${labels.instance}` : "";
  if (alert.status === "firing") logger.warn(`alert firing: ${name}${where}`, fields);
  else logger.info(`alert resolved: ${name}${where}`, fields);
}
