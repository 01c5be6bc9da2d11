import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { startPostgres, type ScratchPostgres } from "../../tests/postgres.js";
import type { Operation } from "../operations/model.js";
import { ManualClock } from "../platform/clock.js";
import type { GroupCommit } from "../platform/group-commit.js";
import { createSilentLogger } from "../platform/logger.js";
import { GlobalBudget } from "./budget.js";
import { createGlobalLimitsMetrics } from "./metrics.js";

let postgres: ScratchPostgres;
let dir: string;

beforeAll(async () => {
  postgres = await startPostgres();
  dir = tempDir();
}, 60_000);

afterAll(() => {
  postgres.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const open = (id: string): Operation => ({ id, notional: 65_000n, status: "open" }) as Operation;

describe("GlobalBudget", () => {
  it("sends what was released while a batch was on its way right after it, not at the next refresh", async () => {
    const urlFile = join(dir, "postgres-url");
    writeFileSync(urlFile, postgres.url, { mode: 0o600 });
    const budget = new GlobalBudget({
      config: { urlFile, account: "desk-a", timeoutMs: 5_000, poolSize: 2 },
      moneyScale: 2,
      clock: new ManualClock(Date.UTC(2026, 11, 2)),
      logger: createSilentLogger(),
      // Every local commit already durable.
      commits: { durable: () => Promise.resolve() } as unknown as GroupCommit,
      metrics: createGlobalLimitsMetrics(new Registry()),
    });
    const db = new pg.Client(postgres.url);
    await db.connect();
    try {
      const ops = [open("op-a"), open("op-b")];
      await budget.start({ live: () => ops, get: () => undefined });
      const held = async (): Promise<string[]> =>
        (
          await db.query<{ id: string }>("SELECT operation_id AS id FROM opsguard_reservations ORDER BY 1")
        ).rows.map((row) => row.id);
      expect(await held()).toEqual(["op-a", "op-b"]);

      budget.release("op-a");
      const sending = budget.flush(); // op-a on its way
      budget.release("op-b"); // queued behind it
      await sending;
      expect(await held()).toEqual([]);
    } finally {
      await db.end();
      await budget.close();
    }
  }, 30_000);
});
