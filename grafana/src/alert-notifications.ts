import type * as logs from "@grafana/grafana-foundation-sdk/logs";
import { alertNotificationLines } from "./logql.js";
import { logsPanel, UNITS } from "./panels.js";

/** Every alert notified, as the stack's receiver logged it: on the Overview and Logs dashboards. */
export function alertNotificationsPanel(): logs.PanelBuilder {
  return logsPanel(
    {
      title: "Alert notifications",
      description:
        "Every alert Alertmanager notified, firing (warn) or resolved (info), as the stack's receiver (opsguard alert-receiver) logged it: the alert, its instance, summary and runbook link. Real receivers (Slack, email, PagerDuty) are set up in alertmanager/alertmanager.yml (docs/alerting.md).",
      unit: UNITS.none,
      width: 24,
      height: 8,
    },
    alertNotificationLines(),
  );
}
