import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "./harness.js";
import { startPostgres, type ScratchPostgres } from "./postgres.js";
import { startChild, type Child } from "./process.js";

/** Notional of one operation of these tests (0.01 BTC at about 65,000, at the worst fill). */
const ONE = {
  strategy: "trend-follow",
  instrument: "BTC-USD",
  side: "buy",
  size: "0.01",
  maxDurationSec: 86_400,
};
/** Room for about fifteen of them, firm-wide. */
const MAX_EXPOSURE = "10000";
const TIMEOUT_MS = 1_000;

interface Instance {
  account: string;
  dataDir: string;
  child: Child;
  base: string;
  headers: Record<string, string>;
}

interface OperationJson {
  id: string;
  status: string;
}

let postgres: ScratchPostgres;
let db: pg.Pool;
let urlFile: string;
let scratch: string;
const instances: Instance[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
  db = new pg.Pool({ connectionString: postgres.url, max: 2 });
  db.on("error", () => undefined); // the test stops the server on purpose
  scratch = tempDir();
  urlFile = join(scratch, "postgres-url");
  writeFileSync(urlFile, postgres.url, { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  await db.end();
  postgres.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  for (const instance of instances.splice(0)) {
    instance.child.process.kill("SIGKILL");
    await instance.child.exited;
    rmSync(instance.dataDir, { recursive: true, force: true });
  }
  // Each test starts from an empty budget store.
  await db.query("DROP TABLE IF EXISTS opsguard_budgets, opsguard_reservations");
});

/**
 * Starts `opsguard serve` for `account` with the firm-wide limits on (on `dataDir` again, if
 * given). Only the outage test holds PostgreSQL to the short timeout: elsewhere a busy machine
 * must not turn a slow answer into a refusal.
 */
async function startInstance(account: string, dataDir = tempDir(), timeoutMs = 10_000): Promise<Instance> {
  const config = join(dataDir, "opsguard.yaml");
  writeFileSync(
    config,
    [
      "globalLimits:",
      `  urlFile: ${urlFile}`,
      `  account: ${account}`,
      `  timeoutMs: ${timeoutMs}`,
      `  maxExposure: "${MAX_EXPOSURE}"`,
      "risk:",
      "  maxSubmitRate: { perSecond: 100000, burst: 100000 }",
      "  maxExposure: { total: 100000000, perInstrument: 100000000 }",
      // The closes below book what the paper market's walk gives: no local limit may stop the
      // submits after them.
      "  lossStreak: { maxConsecutive: 1000 }",
      "  maxDailyLoss: 100000000",
      "  maxDrawdown: 1",
      "executor:",
      "  paper: { latencyMs: 0, slippageBps: 0 }",
      "supervisor:",
      "  monitorIntervalMs: 60000",
    ].join("\n"),
  );
  const child = await startChild(dataDir, ["serve", "--config", config]);
  const instance = {
    account,
    dataDir,
    child,
    base: `http://127.0.0.1:${child.port}`,
    headers: { authorization: `Bearer ${child.token}`, "content-type": "application/json" },
  };
  instances.push(instance);
  return instance;
}

const submit = (instance: Instance, clientId: string): Promise<Response> =>
  fetch(`${instance.base}/v1/operations`, {
    method: "POST",
    headers: instance.headers,
    body: JSON.stringify({ ...ONE, clientId }),
  });

/** Pending and open operations of an instance, by its own API. */
async function liveIds(instance: Instance): Promise<string[]> {
  const ids: string[] = [];
  for (const status of ["open", "pending"]) {
    const res = await fetch(`${instance.base}/v1/operations?status=${status}&limit=500`, {
      headers: instance.headers,
    });
    expect(res.status).toBe(200);
    ids.push(...((await res.json()) as { items: OperationJson[] }).items.map((op) => op.id));
  }
  return ids.sort();
}

async function reservationsOf(account: string): Promise<string[]> {
  const { rows } = await db.query<{ operation_id: string }>(
    "SELECT operation_id FROM opsguard_reservations WHERE account = $1 ORDER BY operation_id",
    [account],
  );
  return rows.map((row) => row.operation_id);
}

async function exposureUsed(): Promise<number> {
  const { rows } = await db.query<{ used: string }>(
    "SELECT used FROM opsguard_budgets WHERE budget_key = 'exposure'",
  );
  return Number(rows[0]?.used ?? 0);
}

describe("firm-wide limits in PostgreSQL", () => {
  it("never lets three instances racing together past the exposure limit, and accounts for every acknowledged operation in both stores", async () => {
    const three = await Promise.all(["desk-a", "desk-b", "desk-c"].map((account) => startInstance(account)));
    // Sixty submits at once, twenty on each instance: four times what the limit has room for.
    const answers = await Promise.all(
      three.flatMap((instance) =>
        Array.from({ length: 20 }, async (_, i) => {
          const res = await submit(instance, `race-${instance.account}-${i}`);
          return { instance, status: res.status, body: (await res.json()) as Record<string, unknown> };
        }),
      ),
    );
    const accepted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 422);
    expect(
      answers.filter((a) => a.status !== 201 && a.status !== 422).map((a) => [a.status, a.body]),
    ).toEqual([]);
    expect(accepted.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const { body } of refused) {
      expect(body.code).toBe("RISK_REJECTED");
      expect((body.errors as { code: string }[]).map((e) => e.code)).toEqual(["GLOBAL_EXPOSURE_EXCEEDED"]);
    }

    // Counted and logged as the local checks' rejections are, by reason.
    let counted = 0;
    for (const instance of three) {
      const metrics = await (await fetch(`${instance.base}/metrics`)).text();
      const match =
        /^opsguard_risk_rejections_total\{[^}]*reason="GLOBAL_EXPOSURE_EXCEEDED"[^}]*\} (\d+)$/m.exec(
          metrics,
        );
      counted += Number(match?.[1] ?? 0);
    }
    expect(counted).toBe(refused.length);

    expect(await exposureUsed()).toBeLessThanOrEqual(Number(MAX_EXPOSURE));
    const { rows } = await db.query<{ total: string; count: string }>(
      "SELECT coalesce(sum(exposure), 0) AS total, count(*) AS count FROM opsguard_reservations",
    );
    expect(Number(rows[0]!.total)).toBe(await exposureUsed());
    expect(Number(rows[0]!.count)).toBe(accepted.length);
    for (const instance of three) {
      const acknowledged = accepted
        .filter((a) => a.instance === instance)
        .map((a) => a.body.id as string)
        .sort();
      expect(await liveIds(instance)).toEqual(acknowledged);
      expect(await reservationsOf(instance.account)).toEqual(acknowledged);
    }

    // Closing gives the exposure back: room again for new operations.
    for (const { instance, body } of accepted) {
      const res = await fetch(`${instance.base}/v1/operations/${String(body.id)}/close`, {
        method: "POST",
        headers: instance.headers,
      });
      expect(res.status).toBe(200);
    }
    await expect.poll(() => exposureUsed(), { timeout: 10_000 }).toBe(0);
    expect(await reservationsOf("desk-a")).toEqual([]);
    const after = await submit(three[0]!, "after-closes");
    expect(after.status, await after.clone().text()).toBe(201);

    // The same clientId twice at once: one operation, one reservation.
    const twice = await Promise.all([submit(three[1]!, "same-twice"), submit(three[1]!, "same-twice")]);
    expect(twice.map((res) => res.status).sort()).toEqual([200, 201]);
    const [first, second] = (await Promise.all(twice.map((res) => res.json()))) as OperationJson[];
    expect(first!.id).toBe(second!.id);
    await expect.poll(() => reservationsOf("desk-b"), { timeout: 10_000 }).toEqual([first!.id]);
  }, 60_000);

  it("settles a killed instance's reservations on its restart: they equal its open operations", async () => {
    let instance = await startInstance("desk-k");
    let stop = false;
    let sent = 0;
    let acknowledged = 0;
    const load = async (): Promise<void> => {
      while (!stop && sent < 400) {
        try {
          if ((await submit(instance, `kill-${sent++}`)).status === 201) acknowledged++;
        } catch {
          // the process died under this request
        }
      }
    };
    const workers = Array.from({ length: 6 }, load);
    // Killed once some operations are acknowledged, with more under way (the exposure limit has
    // room for about fifteen; the rest are refused).
    await expect.poll(() => acknowledged, { timeout: 10_000 }).toBeGreaterThan(5);
    instance.child.process.kill("SIGKILL");
    stop = true;
    await Promise.all(workers);
    await instance.child.exited;
    instances.splice(instances.indexOf(instance), 1);

    instance = await startInstance("desk-k", instance.dataDir);
    const live = await liveIds(instance);
    expect(live.length).toBeGreaterThan(0);
    expect(await reservationsOf("desk-k")).toEqual(live);
  }, 60_000);

  it("refuses new operations within the timeout while PostgreSQL is down, closes all the same, and recovers by itself", async () => {
    const instance = await startInstance("desk-p", tempDir(), TIMEOUT_MS);
    const opened = await Promise.all(
      Array.from({ length: 5 }, (_, i) => submit(instance, `before-outage-${i}`)),
    );
    expect(opened.map((res) => res.status)).toEqual([201, 201, 201, 201, 201]);
    const [open] = (await Promise.all(opened.map((res) => res.json()))) as OperationJson[];

    postgres.stop();
    try {
      // Twenty submits at once while it is down: each refused, none left hanging past the
      // timeout (with room for a busy machine).
      const started = performance.now();
      const refused = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const res = await submit(instance, `during-outage-${i}`);
          return { status: res.status, code: ((await res.json()) as { code: string }).code };
        }),
      );
      const waited = performance.now() - started;
      expect(new Set(refused.map((r) => `${r.status} ${r.code}`))).toEqual(
        new Set(["503 GLOBAL_LIMITS_UNAVAILABLE"]),
      );
      expect(waited).toBeLessThan(TIMEOUT_MS + 2_000);

      const closed = await fetch(`${instance.base}/v1/operations/${open!.id}/close`, {
        method: "POST",
        headers: instance.headers,
      });
      expect(closed.status).toBe(200);
      // And the supervisor's own closes: every other one at once, through its API as a halt does.
      const halted = await fetch(`${instance.base}/v1/risk/state`, {
        method: "PUT",
        headers: instance.headers,
        body: JSON.stringify({ state: "halted", reason: "outage test", flatten: true }),
      });
      expect(halted.status).toBe(200);
      await expect.poll(() => liveIds(instance), { timeout: 10_000 }).toEqual([]);
      const resumed = await fetch(`${instance.base}/v1/risk/state`, {
        method: "PUT",
        headers: instance.headers,
        body: JSON.stringify({ state: "active", reason: "outage test" }),
      });
      expect(resumed.status).toBe(200);
      const metrics = await (await fetch(`${instance.base}/metrics`)).text();
      expect(metrics).toMatch(/^opsguard_global_limits_up 0$/m);
    } finally {
      postgres.start();
    }

    // Back by itself: new submits go through, and the close's release has reached PostgreSQL.
    await expect
      .poll(async () => (await submit(instance, `after-outage-${Date.now()}`)).status, { timeout: 15_000 })
      .toBe(201);
    await expect.poll(() => reservationsOf("desk-p"), { timeout: 15_000 }).toEqual(await liveIds(instance));
    expect(await reservationsOf("desk-p")).not.toContain(open!.id);
  }, 60_000);
});
