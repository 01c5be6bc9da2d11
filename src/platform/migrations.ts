import type { Db } from "./db.js";
import { rebuildPerformanceAggregates } from "../reports/performance/aggregates.js";

/** A migration: SQL, or a function run on the connection (inside the migration's transaction). */
export type Migration = string | ((db: Db) => void);

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many have run.
 * Append only: a released migration is never edited. Money, prices and sizes are INTEGER
 * columns of scaled units, so `SUM()` in SQL is exact.
 */
export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE operations (
    id                 TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL,
    strategy           TEXT NOT NULL,
    instrument         TEXT NOT NULL,
    side               TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    size               INTEGER NOT NULL CHECK (size > 0),
    auto_sized         INTEGER NOT NULL DEFAULT 0,
    stop_loss          INTEGER,
    take_profit        INTEGER,
    max_duration_sec   INTEGER,
    pattern            TEXT,
    confidence         REAL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'open', 'closed', 'failed')),
    notional           INTEGER NOT NULL,
    entry_price        INTEGER,
    exit_price         INTEGER,
    close_reason       TEXT,
    close_requested_at INTEGER,
    pnl                INTEGER,
    failure_reason     TEXT,
    request_hash       TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    opened_at          INTEGER,
    closed_at          INTEGER,
    UNIQUE (strategy, client_id)
  ) STRICT;
  CREATE INDEX operations_live ON operations (status) WHERE status IN ('pending', 'open');
  CREATE INDEX operations_created ON operations (created_at);
  CREATE INDEX operations_closed ON operations (closed_at) WHERE closed_at IS NOT NULL;

  CREATE TABLE risk_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    trading_state    TEXT NOT NULL CHECK (trading_state IN ('active', 'reducing', 'halted')),
    state_reason     TEXT NOT NULL,
    state_changed_at INTEGER NOT NULL,
    realized_pnl     INTEGER NOT NULL,
    peak_equity      INTEGER NOT NULL,
    loss_reset_at    INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE strategy_state (
    strategy       TEXT PRIMARY KEY,
    loss_streak    INTEGER NOT NULL,
    cooldown_until INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
  ) STRICT;
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

  CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    secret_hash TEXT NOT NULL,
    created_at  INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE paper_orders (
    operation_id TEXT PRIMARY KEY,
    instrument   TEXT NOT NULL,
    side         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    entry_price  INTEGER NOT NULL,
    entry_at     INTEGER NOT NULL,
    exit_price   INTEGER,
    exit_at      INTEGER
  ) STRICT;
  `,
  // Backups, restore drills and repository checks: what ran, when, and how it ended.
  `
  CREATE TABLE maintenance_runs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('backup', 'drill', 'check')),
    trigger     TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    reason      TEXT,
    details     TEXT NOT NULL
  ) STRICT;
  CREATE INDEX maintenance_runs_by_kind ON maintenance_runs (kind, started_at);
  `,
  // Daily aggregates for the performance report, kept as operations close (a report over a
  // million operations reads a few thousand rows), and the rejections and cooldowns, which leave
  // no row of their own.
  `
  ALTER TABLE operations ADD COLUMN planned_risk INTEGER;

  CREATE TABLE performance_daily (
    day               TEXT NOT NULL,
    strategy          TEXT NOT NULL,
    instrument        TEXT NOT NULL,
    pattern           TEXT NOT NULL,
    side              TEXT NOT NULL,
    confidence_bucket INTEGER NOT NULL,
    closes            INTEGER NOT NULL,
    wins              INTEGER NOT NULL,
    losses            INTEGER NOT NULL,
    gross_profit      INTEGER NOT NULL,
    gross_loss        INTEGER NOT NULL,
    pnl_squares       REAL NOT NULL,
    duration_ms       INTEGER NOT NULL,
    risked            INTEGER NOT NULL,
    r_sum             REAL NOT NULL,
    confidence_sum    REAL NOT NULL,
    brier_sum         REAL NOT NULL,
    PRIMARY KEY (day, strategy, instrument, pattern, side, confidence_bucket)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE equity_daily (
    day           TEXT NOT NULL,
    strategy      TEXT NOT NULL,
    closes        INTEGER NOT NULL,
    pnl           INTEGER NOT NULL,
    high          INTEGER NOT NULL,
    high_at       INTEGER,
    low           INTEGER NOT NULL,
    low_at        INTEGER,
    drawdown      INTEGER NOT NULL,
    drawdown_high INTEGER NOT NULL,
    drawdown_from INTEGER,
    drawdown_to   INTEGER,
    PRIMARY KEY (day, strategy)
  ) STRICT, WITHOUT ROWID;

  -- rejected: submits refused (code ''); failed_check: each failed check, by code; cooldown: loss
  -- streaks that started a cooldown (code '').
  CREATE TABLE risk_events_daily (
    day      TEXT NOT NULL,
    strategy TEXT NOT NULL,
    event    TEXT NOT NULL CHECK (event IN ('rejected', 'failed_check', 'cooldown')),
    code     TEXT NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (day, strategy, event, code)
  ) STRICT, WITHOUT ROWID;

  -- The highest exposure of each day, in total (key '') and by instrument.
  CREATE TABLE risk_peaks_daily (
    day     TEXT NOT NULL,
    measure TEXT NOT NULL CHECK (measure IN ('exposure_total', 'exposure_instrument')),
    key     TEXT NOT NULL,
    peak    INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (day, measure, key)
  ) STRICT, WITHOUT ROWID;

  CREATE INDEX audit_log_trading_state ON audit_log (at) WHERE action = 'trading.state';

  `,
  // Filled from the closes already booked.
  rebuildPerformanceAggregates,
  // The system report's samples of the process and the host (src/reports/system/sampler.ts): one
  // row a minute; the CPU, event-loop and GC columns cover the interval_ms before `at`.
  `
  CREATE TABLE system_samples (
    id                      INTEGER PRIMARY KEY,
    at                      INTEGER NOT NULL,
    interval_ms             INTEGER NOT NULL,
    cpu_user_ms             REAL NOT NULL,
    cpu_system_ms           REAL NOT NULL,
    rss_bytes               INTEGER NOT NULL,
    heap_used_bytes         INTEGER NOT NULL,
    heap_total_bytes        INTEGER NOT NULL,
    event_loop_delay_p99_ms REAL,
    event_loop_delay_max_ms REAL,
    gc_ms                   REAL NOT NULL,
    gc_count                INTEGER NOT NULL,
    database_bytes          INTEGER,
    wal_bytes               INTEGER,
    volume_free_bytes       INTEGER,
    volume_size_bytes       INTEGER,
    open_operations         INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX system_samples_at ON system_samples (at);
  `,
  // Operation and account events for GET /v1/events and the outgoing webhooks, written in the
  // transaction of the change each describes. AUTOINCREMENT: an id is never reused, even after
  // the oldest rows are pruned, so a client's Last-Event-ID always means the same event.
  // webhook_cursors: the last event each webhook endpoint acknowledged.
  `
  CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    operation_id  TEXT,
    strategy      TEXT,
    instrument    TEXT,
    data          TEXT NOT NULL
  ) STRICT;
  CREATE INDEX events_at ON events (at);

  CREATE TABLE webhook_cursors (
    endpoint      TEXT PRIMARY KEY,
    last_event_id INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  ) STRICT;
  `,
  // Fewer pages written per commit (each is a WAL frame of its own). The audit log gives each
  // entry its seq itself and is append-only, so AUTOINCREMENT only cost an update of
  // sqlite_sequence in every commit with an entry: the table is rebuilt without it (the same rows
  // and hashes). Old events are pruned oldest first by id, which needs no index on their time.
  `
  CREATE TABLE audit_log_rebuilt (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
  ) STRICT;
  INSERT INTO audit_log_rebuilt (seq, at, actor, action, target, details, prev_hash, hash)
    SELECT seq, at, actor, action, target, details, prev_hash, hash FROM audit_log;
  DROP TABLE audit_log;
  ALTER TABLE audit_log_rebuilt RENAME TO audit_log;
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE INDEX audit_log_trading_state ON audit_log (at) WHERE action = 'trading.state';

  DROP INDEX events_at;
  `,
];
