import { readFileSync } from "node:fs";
import type { Config } from "../config/schema.js";
import type { Clock } from "../platform/clock.js";
import type { Db } from "../platform/db.js";
import type { GroupCommit } from "../platform/group-commit.js";
import type { Logger } from "../platform/logger.js";
import type { Executor } from "./executor.js";
import { PaperExecutor } from "./paper.js";
import { WebhookExecutor } from "./webhook.js";

/** What the configured executor is built with. */
export interface CreateExecutorDeps {
  db: Db;
  /** The paper executor writes its fills in the service's batches. */
  commits?: GroupCommit;
  clock: Clock;
  logger: Logger;
}

/** Builds the executor named by `executor.type`. */
export function createExecutor(config: Config, { db, commits, clock, logger }: CreateExecutorDeps): Executor {
  if (config.executor.type === "webhook") {
    const { tokenFile } = config.executor.webhook;
    return new WebhookExecutor({
      config: config.executor.webhook,
      instruments: config.instruments,
      clock,
      logger,
      token: tokenFile ? readFileSync(tokenFile, "utf8").trim() : undefined,
    });
  }
  return new PaperExecutor({
    instruments: config.instruments,
    config: config.executor.paper,
    clock,
    db,
    commits,
  });
}
