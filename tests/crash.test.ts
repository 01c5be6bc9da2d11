import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../src/platform/db.js";
import { tempDir } from "./harness.js";
import { startChild, type Child } from "./process.js";

const CONNECTIONS = 8;
const MAX_REQUESTS = 2_000;
/** Acknowledgements to collect before the kill: enough to matter, bounded in time. */
const KILL_AFTER_ACKS = 150;

interface OperationJson {
  id: string;
  clientId: string;
  status: string;
}

describe("kill -9 under load", () => {
  let dataDir: string;
  let child: Child | undefined;
  afterEach(() => {
    child?.process.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps every acknowledged operation, reconciles the rest and executes nothing twice", async () => {
    dataDir = tempDir();
    const env = {
      OPSGUARD_EXECUTOR_PAPER_LATENCY_MS: "3",
      OPSGUARD_RISK_MAX_SUBMIT_RATE: "{perSecond: 100000, burst: 100000}",
      OPSGUARD_RISK_MAX_EXPOSURE: "{total: 100000000, perInstrument: 100000000}",
    };
    child = await startChild(dataDir, ["serve"], env);
    const base = `http://127.0.0.1:${child.port}`;
    const headers = { authorization: `Bearer ${child.token}`, "content-type": "application/json" };

    const acknowledged = new Map<string, string>(); // clientId → id
    const sent: string[] = [];
    let next = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (!killed && next < MAX_REQUESTS) {
        const clientId = `crash-${next++}`;
        sent.push(clientId);
        try {
          const res = await fetch(`${base}/v1/operations`, {
            method: "POST",
            headers,
            body: JSON.stringify({
              clientId,
              strategy: "trend-follow",
              instrument: "BTC-USD",
              side: "buy",
              size: "0.01",
            }),
          });
          if (res.status === 201) acknowledged.set(clientId, ((await res.json()) as OperationJson).id);
          if (!killed && acknowledged.size >= KILL_AFTER_ACKS) {
            killed = true;
            child!.process.kill("SIGKILL");
          }
        } catch {
          // the connection died with the process: this request was never acknowledged
        }
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    expect(await child.exited).toBeNull(); // killed by a signal, not exited
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);

    child = await startChild(dataDir, ["serve"], env);
    const restarted = `http://127.0.0.1:${child.port}`;
    const auth = { authorization: `Bearer ${child.token}` };
    for (const [clientId, id] of acknowledged) {
      const res = await fetch(`${restarted}/v1/operations/${id}`, { headers: auth });
      expect(res.status, `acknowledged ${clientId} is missing`).toBe(200);
      const op = (await res.json()) as OperationJson;
      expect(op).toMatchObject({ clientId, status: "open" });
    }

    // Everything the first process recorded: every row is now open or failed, none pending.
    const all: OperationJson[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (
        await fetch(`${restarted}/v1/operations?limit=500${cursor ? `&cursor=${cursor}` : ""}`, {
          headers: auth,
        })
      ).json()) as { items: OperationJson[]; nextCursor: string | null };
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(all.filter((op) => op.status === "pending")).toEqual([]);
    expect(new Set(all.map((op) => op.clientId)).size).toBe(all.length);

    // Retrying every request the client sent executes none of them twice.
    for (const clientId of sent.slice(0, 50)) {
      const res = await fetch(`${restarted}/v1/operations`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          clientId,
          strategy: "trend-follow",
          instrument: "BTC-USD",
          side: "buy",
          size: "0.01",
        }),
      });
      const op = (await res.json()) as OperationJson;
      if (acknowledged.has(clientId)) {
        expect(res.status).toBe(200);
        expect(op.id).toBe(acknowledged.get(clientId));
      } else {
        expect([200, 201]).toContain(res.status);
      }
    }
    const risk = (await (await fetch(`${restarted}/v1/risk`, { headers: auth })).json()) as {
      usage: { openOperations: number };
    };
    const open = all.filter((op) => op.status === "open").length;
    expect(risk.usage.openOperations).toBeGreaterThanOrEqual(open);

    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    child = undefined;

    // The venue's book and ours agree: every open operation executed once, at the price we booked.
    const db = openDatabase({ path: `${dataDir}/opsguard.db` });
    const mismatches = db
      .prepare(
        `SELECT o.id FROM operations o LEFT JOIN paper_orders p ON p.operation_id = o.id
         WHERE (o.status = 'open') != (p.operation_id IS NOT NULL) OR (o.status = 'open' AND o.entry_price != p.entry_price)`,
      )
      .all();
    db.close();
    expect(mismatches).toEqual([]);
  }, 60_000);
});
