import { describe, expect, it } from "vitest";
import { ManualClock } from "../platform/clock.js";
import { capturingLogger } from "../platform/logger.fixture.js";
import { createMetrics, createRegistry } from "../platform/metrics.js";
import type { Operation } from "./model.js";
import { RECONCILE_OUTCOMES, ReconcileSchedule, type ReconcileOutcome } from "./reconciliation.js";

function setup(resolve: (op: Operation) => Promise<ReconcileOutcome>) {
  const { logger, lines } = capturingLogger();
  const metrics = createMetrics(createRegistry(), { version: "test", runtime: false });
  metrics.declareSeries({
    strategies: [],
    instruments: [],
    patterns: [],
    results: [],
    closeReasons: [],
    reconcileOutcomes: RECONCILE_OUTCOMES,
  });
  const clock = new ManualClock(1_000_000);
  const schedule = new ReconcileSchedule({ clock, logger, metrics, delayMs: 10_000, resolve });
  const count = async (outcome: string) =>
    (await metrics.reconciliations.get()).values.find((v) => v.labels.outcome === outcome)?.value;
  return { schedule, clock, lines, count };
}

const op = (id: string) => ({ id }) as Operation;

describe("ReconcileSchedule", () => {
  it("logs a deferral once per operation and counts every one", async () => {
    let answer: ReconcileOutcome | undefined;
    const { schedule, lines, count } = setup(() =>
      answer ? Promise.resolve(answer) : Promise.reject(new Error("no answer within 2000 ms")),
    );
    const a = op("a");
    const b = op("b");
    for (let pass = 0; pass < 5; pass++) await Promise.all(schedule.start([a, b]));

    const deferred = lines.filter((l) => l.event === "operation.reconcile_deferred");
    expect(deferred.map((l) => l.operationId)).toEqual(["a", "b"]);
    expect(deferred[0]).toMatchObject({ level: "warn", err: "no answer within 2000 ms" });
    expect(await count("deferred")).toBe(10);

    // Once answered, a later deferral of the same operation is news again.
    answer = "open";
    await Promise.all(schedule.start([a]));
    expect(await count("open")).toBe(1);
    answer = undefined;
    await Promise.all(schedule.start([a]));
    expect(lines.filter((l) => l.event === "operation.reconcile_deferred")).toHaveLength(3);
  });

  it("waits the delay after an unconfirmed execution, and asks one question at a time", async () => {
    let release!: () => void;
    const asked: string[] = [];
    const { schedule, clock } = setup((o) => {
      asked.push(o.id);
      return new Promise((resolve) => (release = () => resolve("closed")));
    });
    const a = op("a");
    schedule.later(a);
    expect(schedule.start([a])).toHaveLength(0);
    clock.advance(9_999);
    expect(schedule.start([a])).toHaveLength(0);
    clock.advance(1);
    const [first] = schedule.start([a]);
    expect(schedule.start([a])).toHaveLength(0); // the first question is still out
    expect(schedule.isRunning("a")).toBe(true);
    release();
    await first;
    expect(schedule.isRunning("a")).toBe(false);
    expect(asked).toEqual(["a"]);
  });

  it("counts nothing when the operation was settled by someone else first", async () => {
    const { schedule, count } = setup(() => Promise.resolve("skipped"));
    await Promise.all(schedule.start([op("a")]));
    for (const outcome of RECONCILE_OUTCOMES) expect(await count(outcome)).toBe(0);
  });
});
