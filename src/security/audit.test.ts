import { afterEach, describe, expect, it } from "vitest";
import { startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import { capturingLogger } from "../platform/logger.fixture.js";

interface Page {
  items: { seq: number; actor: string; action: string; at: string; hash: string }[];
  nextCursor: string | null;
  chain: { ok: boolean; verifiedEntries: number; brokenAt?: number; reason?: string };
}

describe("GET /v1/audit", () => {
  let t: TestApp;
  afterEach(() => t.close());

  const page = async (query = "") => {
    const res = await t.call("GET", `/v1/audit${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as Page;
  };
  /** Changes an entry with SQL, as someone with the database file could (after the trigger). */
  const tamper = (seq: number) => {
    t.app.db.exec("DROP TRIGGER audit_log_no_update");
    t.app.db.prepare(`UPDATE audit_log SET details = '{"clientId":"forged"}' WHERE seq = ?`).run(seq);
  };

  it("lists entries newest first, filtered and paged, with the chain verified", async () => {
    t = await startTestApp();
    for (let i = 0; i < 3; i++) await t.call("POST", "/v1/operations", { body: submitBody() });
    await t.call("PUT", "/v1/risk/state", { body: { state: "halted", reason: "test" } });

    const all = await page();
    expect(all.items.map((e) => e.seq)).toEqual([4, 3, 2, 1]);
    expect(all.chain).toMatchObject({ ok: true, verifiedEntries: 4 });
    expect((await page("?action=trading.state")).items.map((e) => e.action)).toEqual(["trading.state"]);
    expect((await page("?actor=nobody")).items).toEqual([]);

    const first = await page("?limit=3");
    expect(first.items.map((e) => e.seq)).toEqual([4, 3, 2]);
    expect(first.nextCursor).toBe("2");
    const second = await page(`?limit=3&cursor=${first.nextCursor}`);
    expect(second.items.map((e) => e.seq)).toEqual([1]);
    expect(second.nextCursor).toBeNull();

    const at = Date.parse(all.items[0]!.at);
    expect((await page(`?from=${new Date(at).toISOString()}`)).items.length).toBeGreaterThanOrEqual(1);
    expect((await page(`?to=${new Date(Date.parse(all.items.at(-1)!.at)).toISOString()}`)).items).toEqual([]);
  });

  it("reports an entry changed with SQL: where the chain breaks, in the answer, the metric and the log", async () => {
    const logs = capturingLogger();
    t = await startTestApp({}, { logger: logs.logger });
    for (let i = 0; i < 3; i++) await t.call("POST", "/v1/operations", { body: submitBody() });
    expect((await page()).chain.ok).toBe(true); // the checkpoint is now entry 3
    tamper(2);
    // Behind the checkpoint: the next verification that walks the whole chain finds it.
    expect((await page()).chain.ok).toBe(true); // going on from entry 3, it cannot see it
    await t.app.auditChain.verify(true);
    const chain = (await page()).chain;
    expect(chain).toMatchObject({
      ok: false,
      brokenAt: 2,
      reason: "hash does not match the entry's contents",
    });
    expect(chain.verifiedEntries).toBe(1);
    expect(await t.app.registry.getSingleMetricAsString("opsguard_audit_chain_ok")).toContain(
      "opsguard_audit_chain_ok 0",
    );
    const broken = logs.lines.filter((l) => l.event === "security.audit_chain_broken");
    expect(broken).toEqual([expect.objectContaining({ level: "error", brokenAt: 2 })]);
  });

  it("finds a change to the last verified entry at once, without walking the chain", async () => {
    t = await startTestApp();
    for (let i = 0; i < 3; i++) await t.call("POST", "/v1/operations", { body: submitBody() });
    expect((await page()).chain.ok).toBe(true);
    tamper(3);
    expect((await page()).chain).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it.each([
    ["?from=yesterday", "query.from"],
    ["?limit=0", "query.limit"],
    ["?cursor=0x10", "query.cursor"],
  ])("answers %s with a 400 naming %s", async (query, path) => {
    t = await startTestApp();
    const res = await t.call("GET", `/v1/audit${query}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [expect.objectContaining({ path })] });
  });

  it("is for admins only", async () => {
    t = await startTestApp();
    expect((await t.call("GET", "/v1/audit", { role: "operator" })).status).toBe(403);
    expect((await t.call("GET", "/v1/audit", { role: null })).status).toBe(401);
  });
});
