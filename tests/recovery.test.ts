import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { createApp, type OpsguardApp } from "../src/app.js";
import type { Config } from "../src/config/schema.js";
import { OperationRepository } from "../src/operations/repository.js";
import { openDatabase } from "../src/platform/db.js";
import { createSilentLogger } from "../src/platform/logger.js";
import { ScriptedExecutor, submitBody, tempDir, testConfig } from "./harness.js";

/** Restarts against the same SQLite file, with the same (external) executor. */
describe("restart recovery on a real SQLite file", () => {
  let dataDir: string;
  let config: Config;
  let executor: ScriptedExecutor;
  let app: OpsguardApp | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function boot(): Promise<{ app: OpsguardApp; token: string }> {
    app = createApp(config, { executor, logger: createSilentLogger(), runtimeMetrics: false });
    const token = app.tokens.create("admin", "test").token;
    await app.start();
    return { app, token };
  }
  const post = (a: OpsguardApp, token: string, path: string, body: unknown) =>
    a.http.request(path, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  function setup(): void {
    dataDir = tempDir();
    config = testConfig(dataDir);
    executor = new ScriptedExecutor();
  }

  it("rebuilds open operations, exposure, equity and daily counts; replays stay idempotent", async () => {
    setup();
    let { app: first, token } = await boot();
    const bodies = [
      submitBody({ size: "0.5" }),
      submitBody({ instrument: "ETH-USD", size: "2" }),
      submitBody({ size: "0.2" }),
    ];
    const ids: string[] = [];
    for (const body of bodies)
      ids.push(((await (await post(first, token, "/v1/operations", body)).json()) as { id: string }).id);
    executor.setPrice("BTC-USD", 6_510_000n);
    await post(first, token, `/v1/operations/${ids[2]}/close`, {});
    const before = { view: first.ledger.view(), equity: first.ledger.equity, state: first.ledger.state };
    await first.stop();

    ({ app: first, token } = await boot());
    expect([...first.service.open.keys()].sort()).toEqual([ids[0], ids[1]].sort());
    expect(first.ledger.equity).toBe(before.equity);
    expect(first.ledger.equity).toBe(100_020_00n); // +100.00 × 0.2
    expect(first.ledger.view().exposureTotal).toBe(before.view.exposureTotal);
    expect(first.ledger.view().dailyOperations).toBe(3);
    expect(first.ledger.state.peakEquity).toBe(before.state.peakEquity);

    const replay = await post(first, token, "/v1/operations", bodies[0]);
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as { id: string }).id).toBe(ids[0]);
    expect(executor.count("open")).toBe(3);
  });

  it("reconciles what a crash left unknown, executing nothing twice", async () => {
    setup();
    const { app: first, token } = await boot();
    const opened = (
      (await (await post(first, token, "/v1/operations", submitBody())).json()) as { id: string }
    ).id;
    const closing = (
      (await (await post(first, token, "/v1/operations", submitBody({ instrument: "ETH-USD" }))).json()) as {
        id: string;
      }
    ).id;
    const closedAtVenue = (
      (await (await post(first, token, "/v1/operations", submitBody({ instrument: "SOL-USD" }))).json()) as {
        id: string;
      }
    ).id;
    await first.stop();

    // What a kill -9 at the wrong moment leaves behind:
    const db = openDatabase({ path: `${dataDir}/opsguard.db` });
    const insert =
      db.prepare(`INSERT INTO operations (id, client_id, strategy, instrument, side, size, status, notional, request_hash, created_at)
      VALUES (?, ?, 'trend-follow', 'BTC-USD', 'buy', 1000, 'pending', 650000, 'h', ?)`);
    // 1. executed at the venue, but the process died before recording it as open
    insert.run("01PENDINGEXECUTED000000000", "c-executed", Date.now());
    executor.orders.set("01PENDINGEXECUTED000000000", { entry: { price: 6_501_000n, at: Date.now() } });
    // 2. never reached the venue
    insert.run("01PENDINGNEVERSENT00000000", "c-lost", Date.now());
    // 3. a close was asked for but its outcome never recorded; 4. the venue closed it meanwhile
    db.prepare("UPDATE operations SET close_requested_at = ?, close_reason = 'manual' WHERE id = ?").run(
      Date.now(),
      closing,
    );
    db.prepare("UPDATE operations SET close_requested_at = ?, close_reason = 'stop_loss' WHERE id = ?").run(
      Date.now(),
      closedAtVenue,
    );
    executor.orders.get(closedAtVenue)!.exit = { price: 149_000n, at: Date.now() };
    db.close();
    const closesBefore = executor.count("close");

    const { app: second } = await boot();
    expect(second.service.open.get("01PENDINGEXECUTED000000000")).toMatchObject({
      status: "open",
      entryPrice: 6_501_000n,
    });
    const repo = new OperationRepository(second.db);
    expect(repo.get("01PENDINGNEVERSENT00000000")).toMatchObject({ status: "failed" });
    expect(repo.get(closing)).toMatchObject({ status: "closed", closeReason: "manual" });
    expect(repo.get(closedAtVenue)).toMatchObject({
      status: "closed",
      closeReason: "stop_loss",
      exitPrice: 149_000n,
    });
    expect(repo.get(opened)).toMatchObject({ status: "open" });
    // Only the interrupted close was sent again; the one the venue had done was only booked.
    expect(executor.count("close") - closesBefore).toBe(1);
    expect(executor.count("open", "01PENDINGNEVERSENT00000000")).toBe(0);
  });
});
