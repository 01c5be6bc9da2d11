/** Stable codes of failed pre-trade checks; a client may switch on them. */
export const REJECTION_CODES = [
  "TRADING_HALTED",
  "TRADING_REDUCING",
  "DAILY_OPERATIONS_EXCEEDED",
  "POSITION_SIZE_EXCEEDED",
  "AUTO_SIZE_NEEDS_STOP_LOSS",
  "AUTO_SIZE_TOO_SMALL",
  "INVALID_EXIT_LEVELS",
  "NOTIONAL_EXCEEDED",
  "EXPOSURE_EXCEEDED",
  "OPERATION_INTERVAL",
  "RATE_LIMITED",
  "DAILY_LOSS_EXCEEDED",
  "DRAWDOWN_EXCEEDED",
  "LOSS_STREAK_COOLDOWN",
  "UNKNOWN_INSTRUMENT",
  "UNKNOWN_STRATEGY",
  "UNKNOWN_PATTERN",
  "GLOBAL_EXPOSURE_EXCEEDED",
  "GLOBAL_DAILY_OPERATIONS_EXCEEDED",
  "GLOBAL_DAILY_LOSS_EXCEEDED",
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

/** One failed check: what was limited, the limit and what was observed. */
export interface RiskFailure {
  code: RejectionCode;
  message: string;
  limit?: string | number;
  observed?: string | number;
}

export const TRADING_STATES = ["active", "reducing", "halted"] as const;
export type TradingState = (typeof TRADING_STATES)[number];
