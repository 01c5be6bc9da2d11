import type { WebhooksConfig } from "../../config/schema.js";
import type { Clock } from "../../platform/clock.js";
import type { Db } from "../../platform/db.js";
import type { GroupCommit } from "../../platform/group-commit.js";
import type { Logger } from "../../platform/logger.js";
import type { MetricsRegistry } from "../../platform/metrics.js";
import type { EventLog } from "../log.js";
import type { EventFilter } from "../model.js";
import { WebhookCursors } from "./cursors.js";
import { WebhookDelivery } from "./delivery.js";
import { createWebhookMetrics } from "./metrics.js";
import { postWebhook, type SendWebhook } from "./send.js";

export interface WebhookDeliveriesOptions {
  config: WebhooksConfig;
  /** Each endpoint's signing secret, by name: see `readWebhookSecrets`. */
  secrets: ReadonlyMap<string, string>;
  log: EventLog;
  db: Db;
  commits: GroupCommit;
  clock: Clock;
  logger: Logger;
  registry: MetricsRegistry;
  /** The transport. @default fetch */
  send?: SendWebhook;
}

/** Where one endpoint's delivery stands. */
export interface WebhookStatus {
  endpoint: string;
  /** The id of the last event it acknowledged, or that its filters skipped. */
  cursor: number;
  consecutiveFailures: number;
}

/**
 * The outgoing webhooks: one delivery loop per configured endpoint, woken by each commit of
 * events (no polling). Builds the metrics in the registry at once, every endpoint's series at 0.
 */
export class WebhookDeliveries {
  private readonly deliveries: WebhookDelivery[];
  /** Stops listening to the log and releases its recent events. */
  private detach: (() => void) | undefined;

  constructor(private readonly options: WebhookDeliveriesOptions) {
    const { config, secrets, log, db, commits, clock, logger, registry, send = postWebhook } = options;
    const metrics = createWebhookMetrics(
      registry,
      config.endpoints.map((endpoint) => endpoint.name),
    );
    const cursors = new WebhookCursors(db);
    this.deliveries = config.endpoints.map((endpoint) => {
      const secret = secrets.get(endpoint.name);
      if (secret === undefined) throw new Error(`webhook endpoint ${endpoint.name}: no secret was read`);
      const filter: EventFilter = {
        kinds: endpoint.kinds && new Set(endpoint.kinds),
        strategies: endpoint.strategies && new Set(endpoint.strategies),
        instruments: endpoint.instruments && new Set(endpoint.instruments),
      };
      return new WebhookDelivery({
        endpoint: { name: endpoint.name, url: endpoint.url, filter, secret },
        settings: config,
        log,
        cursors,
        commits,
        clock,
        logger,
        metrics,
        send,
      });
    });
  }

  /** Starts every endpoint's loop from its cursor. */
  start(): void {
    if (this.detach || this.deliveries.length === 0) return;
    const unsubscribe = this.options.log.subscribe(() => {
      for (const delivery of this.deliveries) delivery.notify();
    });
    // The loops read a batch behind the latest commit: from memory, while they run.
    const releaseRecent = this.options.log.keepRecent();
    this.detach = () => {
      unsubscribe();
      releaseRecent();
    };
    for (const delivery of this.deliveries) delivery.start();
  }

  /** Aborts the requests in flight and waits for every loop to end; pending events stay stored. */
  async stop(): Promise<void> {
    this.detach?.();
    this.detach = undefined;
    await Promise.all(this.deliveries.map((delivery) => delivery.stop()));
  }

  /** Where each endpoint's delivery stands, in the order of the config. */
  status(): WebhookStatus[] {
    return this.deliveries.map((delivery) => ({
      endpoint: delivery.name,
      cursor: delivery.position,
      consecutiveFailures: delivery.consecutiveFailures,
    }));
  }
}
