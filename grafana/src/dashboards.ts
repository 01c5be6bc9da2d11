import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { logsDashboard } from "./logs.js";
import { maintenanceDashboard } from "./maintenance.js";
import { operationsDashboard } from "./operations.js";
import { overviewDashboard } from "./overview.js";
import { performanceDashboard } from "./performance.js";
import { riskDashboard } from "./risk.js";
import { runtimeDashboard } from "./runtime.js";

/** Every generated dashboard; each is written to `grafana/dashboards/<uid>.json`. */
export const DASHBOARDS: readonly (() => dashboard.Dashboard)[] = [
  overviewDashboard,
  operationsDashboard,
  riskDashboard,
  performanceDashboard,
  runtimeDashboard,
  logsDashboard,
  maintenanceDashboard,
];
