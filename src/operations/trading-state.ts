import type { Tracer } from "@opentelemetry/api";
import type { EventLog } from "../events/log.js";
import type { AuditLog } from "../platform/audit.js";
import type { GroupCommit } from "../platform/group-commit.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import { dbWrite } from "../platform/spans.js";
import type { TradingState } from "../risk/codes.js";
import type { RiskLedger } from "../risk/ledger.js";
import type { RiskRepository } from "../risk/repository.js";

/** A change of trading state, by an admin (`manual`) or by a broken limit (`auto`). */
export interface TradingStateChange {
  state: TradingState;
  reason: string;
  /** Who asked: a token id, or `system`. */
  actor: string;
  trigger: "manual" | "auto";
  /** Close every open operation with reason `halt` (only with `halted`). */
  flatten?: boolean;
}

/** What recording a change of trading state needs. */
export interface TradingStateDeps {
  commits: GroupCommit;
  riskRepo: RiskRepository;
  ledger: RiskLedger;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
  tracer: Tracer;
  events: EventLog;
}

/**
 * Sets the trading state, saved and audited in one write, then counted and logged once committed
 * (`trading.halted`, `trading.reducing`, `trading.resumed`). Setting the state it already has
 * changes nothing and records nothing.
 */
export async function recordTradingState(deps: TradingStateDeps, change: TradingStateChange): Promise<void> {
  const { ledger, riskRepo, audit, metrics, logger, commits } = deps;
  const previous = ledger.tradingState;
  if (previous === change.state) return;
  dbWrite(deps.tracer, "trading.state", () =>
    commits.write(() => {
      ledger.setTradingState(change.state, change.reason);
      riskRepo.save(ledger.state);
      audit.append({
        actor: change.actor,
        action: "trading.state",
        target: change.state,
        details: {
          from: previous,
          reason: change.reason,
          trigger: change.trigger,
          flatten: change.flatten ?? false,
        },
      });
      deps.events.append(
        "trading.state_changed",
        {},
        {
          from: previous,
          to: change.state,
          reason: change.reason,
          trigger: change.trigger,
          actor: change.actor,
        },
      );
    }),
  );
  await commits.durable();
  metrics.tradingStateChanges.inc({ state: change.state, trigger: change.trigger });
  const event = change.state === "active" ? "trading.resumed" : `trading.${change.state}`;
  logger.warn(`trading ${change.state}: ${change.reason}`, {
    event,
    from: previous,
    trigger: change.trigger,
    actor: change.actor,
  });
}
