import type { Pool, PoolClient } from "pg";

/**
 * The tables and functions of the global limits in PostgreSQL, created (or brought up to date) by
 * every instance at start, under an advisory lock so that instances starting together do not
 * trip over each other's `CREATE OR REPLACE`.
 *
 * - `opsguard_budgets`: one row per budget, `exposure` and one per budget and UTC day
 *   (`operations:2026-12-02`, `loss:2026-12-02`), with what is used and the limit (null: none).
 * - `opsguard_reservations`: what each operation holds, by the account (instance) that holds it.
 *
 * Each change is one function call, so one round trip and one transaction: `opsguard_reserve`
 * takes, for each of a batch of operations in order, its share of every budget or of none (it
 * returns the budget whose limit that operation would cross), `opsguard_release` gives an operation's exposure back and books
 * its loss, once (it deletes the reservation), and `opsguard_adopt` records an operation that
 * exists without a reservation, whatever the limits (it is already open).
 *
 * The budget rows are locked in one order by every call (`exposure`, then the day's
 * `operations`, then its `loss`), so concurrent calls wait for each other and never deadlock; a
 * locked row is read as the call before left it, so however many instances race, `used` never
 * passes the limit.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS opsguard_budgets (
  budget_key text PRIMARY KEY,
  limit_amount numeric,
  used numeric NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS opsguard_reservations (
  operation_id text PRIMARY KEY,
  account text NOT NULL,
  exposure numeric NOT NULL CHECK (exposure >= 0),
  reserved_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS opsguard_reservations_account ON opsguard_reservations (account);

CREATE OR REPLACE FUNCTION opsguard_reserve(
  p_operations text[], p_account text, p_exposures numeric[], p_day text,
  p_max_exposure numeric, p_max_operations numeric, p_max_loss numeric
) RETURNS TABLE (refused text, used numeric) LANGUAGE plpgsql AS $$
DECLARE
  v_exposure numeric;
  v_operations numeric;
  v_loss numeric;
BEGIN
  INSERT INTO opsguard_budgets (budget_key) VALUES ('exposure'), ('operations:' || p_day), ('loss:' || p_day)
    ON CONFLICT (budget_key) DO NOTHING;
  SELECT b.used INTO v_exposure FROM opsguard_budgets b WHERE budget_key = 'exposure' FOR UPDATE;
  SELECT b.used INTO v_operations FROM opsguard_budgets b WHERE budget_key = 'operations:' || p_day FOR UPDATE;
  SELECT b.used INTO v_loss FROM opsguard_budgets b WHERE budget_key = 'loss:' || p_day;
  -- One row per operation, in order: each takes its share of every budget or of none, and a
  -- refusal names the budget it would cross (returned, not raised: a raise costs PostgreSQL tens
  -- of milliseconds).
  FOR i IN 1 .. coalesce(array_length(p_operations, 1), 0) LOOP
    refused := NULL;
    used := NULL;
    IF EXISTS (SELECT 1 FROM opsguard_reservations WHERE operation_id = p_operations[i]) THEN
      NULL; -- asked again: it holds its share already
    ELSIF p_max_exposure IS NOT NULL AND v_exposure + p_exposures[i] > p_max_exposure THEN
      refused := 'exposure';
      used := v_exposure;
    ELSIF p_max_loss IS NOT NULL AND v_loss >= p_max_loss THEN
      refused := 'daily_loss';
      used := v_loss;
    ELSIF p_max_operations IS NOT NULL AND v_operations + 1 > p_max_operations THEN
      refused := 'daily_operations';
      used := v_operations;
    ELSE
      v_exposure := v_exposure + p_exposures[i];
      v_operations := v_operations + 1;
      INSERT INTO opsguard_reservations (operation_id, account, exposure)
        VALUES (p_operations[i], p_account, p_exposures[i]);
    END IF;
    RETURN NEXT;
  END LOOP;
  UPDATE opsguard_budgets SET used = v_exposure, limit_amount = p_max_exposure WHERE budget_key = 'exposure';
  UPDATE opsguard_budgets SET used = v_operations, limit_amount = p_max_operations
    WHERE budget_key = 'operations:' || p_day;
  UPDATE opsguard_budgets SET limit_amount = p_max_loss
    WHERE budget_key = 'loss:' || p_day AND limit_amount IS DISTINCT FROM p_max_loss;
END $$;

CREATE OR REPLACE FUNCTION opsguard_release(p_operations text[], p_losses numeric[], p_days text[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_exposure numeric;
  v_released integer := 0;
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_operations, 1), 0) LOOP
    DELETE FROM opsguard_reservations WHERE operation_id = p_operations[i] RETURNING exposure INTO v_exposure;
    CONTINUE WHEN NOT FOUND; -- released already: its loss was booked then
    v_released := v_released + 1;
    UPDATE opsguard_budgets SET used = used - v_exposure WHERE budget_key = 'exposure';
    IF p_losses[i] > 0 THEN
      INSERT INTO opsguard_budgets AS b (budget_key, used) VALUES ('loss:' || p_days[i], p_losses[i])
        ON CONFLICT (budget_key) DO UPDATE SET used = b.used + EXCLUDED.used;
    END IF;
  END LOOP;
  RETURN v_released;
END $$;

CREATE OR REPLACE FUNCTION opsguard_adopt(p_operation text, p_account text, p_exposure numeric)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO opsguard_reservations (operation_id, account, exposure) VALUES (p_operation, p_account, p_exposure)
    ON CONFLICT (operation_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO opsguard_budgets AS b (budget_key, used) VALUES ('exposure', p_exposure)
    ON CONFLICT (budget_key) DO UPDATE SET used = b.used + EXCLUDED.used;
  RETURN true;
END $$;
`;

/** A key for `pg_advisory_xact_lock`: the schema is set up by one instance at a time. */
const SCHEMA_LOCK = 7_245_113_001;

/** Creates the tables and functions, or brings the functions up to date. */
export async function setUpSchema(pool: Pool): Promise<void> {
  const client: PoolClient = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
    await client.query(SCHEMA);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
